"""Small helpers shared by the compat modules: rate strings, times, exception records."""
from __future__ import annotations

import builtins
import datetime
import difflib
import importlib
import random
import sys
import time
from typing import Any, Iterable

from ..exceptions import ImproperlyConfigured, UnsupportedOption

_RATE_UNITS = {"s": 1, "m": 60, "h": 3600}


def parse_rate_limit(value: Any, what: str = "rate_limit") -> tuple[int, int] | None:
    """``"10/s"``, ``"100/m"``, ``"1000/h"`` or a number (per second) -> ``(count, per_seconds)``.

    ``None``/``0`` means no limit. A value that does not parse raises
    ImproperlyConfigured naming ``what``. Fractional rates ("0.5/s") become
    whole counts over a longer period (1 per 2 s).
    """
    if value in (None, 0, "0", ""):
        return None
    try:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            count, unit = float(value), "s"
        else:
            text = str(value).strip()
            count_text, _, unit = text.partition("/")
            count, unit = float(count_text), (unit or "s").strip()[:1]
        per = _RATE_UNITS[unit]
    except (ValueError, KeyError):
        raise ImproperlyConfigured(f"{what}: cannot parse {value!r}; use 'N/s', 'N/m' or 'N/h'") from None
    if count <= 0:
        return None
    if count < 1:
        return 1, int(round(per / count))
    return int(count), per


def suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_options(options: dict[str, Any], known: Iterable[str], restricted: dict[str, tuple[tuple[Any, ...], str]],
                  where: str, kind: str, unknown_error: type[Exception]) -> None:
    """Reject unknown options (``unknown_error``, with a did-you-mean) and unsupported values.

    ``restricted`` maps an option to (the values mrqc accepts, why others are not supported);
    an unsupported value raises UnsupportedOption. Messages read ``{where}: unknown {kind} 'x'``.
    """
    known = tuple(known)
    for key, value in options.items():
        if key not in known:
            raise unknown_error(f"{where}: unknown {kind} {key!r}{suggest(key, known)}")
        rule = restricted.get(key)
        if rule is not None and value not in rule[0]:
            raise UnsupportedOption(f"{where}: {kind} {key}={value!r} is not supported: {rule[1]}")


def to_timestamp(value: Any, what: str) -> float | None:
    """A datetime (naive = UTC), an ISO string or an epoch number -> epoch seconds."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=datetime.timezone.utc)
        return value.timestamp()
    if isinstance(value, str):
        return to_timestamp(datetime.datetime.fromisoformat(value), what)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise TypeError(f"{what} must be a datetime, got {value!r}")


def from_timestamp(value: float | None) -> datetime.datetime | None:
    if value is None:
        return None
    return datetime.datetime.fromtimestamp(float(value), tz=datetime.timezone.utc)


def expires_at(expires: Any, now: float | None = None) -> float | None:
    """Celery's ``expires``: seconds from now, or a datetime -> epoch seconds."""
    if expires is None:
        return None
    if isinstance(expires, datetime.timedelta):
        expires = expires.total_seconds()
    if isinstance(expires, (int, float)) and not isinstance(expires, bool):
        return (now or time.time()) + float(expires)
    return to_timestamp(expires, "expires")


def exponential_backoff(factor: int, retries: int, maximum: int, full_jitter: bool = False) -> int:
    """Celery's ``get_exponential_backoff_interval``."""
    countdown = min(maximum, factor * (2 ** retries))
    if full_jitter:
        countdown = random.randrange(countdown + 1)
    return max(0, countdown)


def exception_record(exc: BaseException) -> dict[str, Any]:
    """What is stored so a client can re-raise ``exc`` as its own type."""
    from mrqcore import serialization
    cls = type(exc)
    args: Any = list(exc.args)
    try:
        serialization.dumps_checked(args, "exception args")
    except Exception:  # args JSON cannot carry: keep their text
        args = [serialization.safe_text(str(a)) for a in exc.args] or [serialization.safe_text(str(exc))]
    return {"exc_module": cls.__module__, "exc_type": cls.__qualname__, "exc_message": args,
            "exc_text": serialization.safe_text(str(exc))}


def rebuild_exception(record: dict[str, Any] | None, fallback_type: str | None = None,
                      fallback_text: str = "") -> BaseException:
    """Re-create the exception a task raised; if its class is not already loaded, an
    exception class of the same name is built on the fly (like Celery's
    ``create_exception_cls``), so ``except`` by name-matching still reads well.

    The class is looked up in ``sys.modules`` only, never imported: the module
    name comes from Redis, and importing it runs its code in the client
    (``this``, ``unittest.__main__``), as Celery stopped doing for CVE-2021-23727."""
    if record:
        module, name, args = record.get("exc_module"), record.get("exc_type"), record.get("exc_message") or []
    else:
        module, _, name = (fallback_type or "Exception").rpartition(".")
        module = module or "builtins"
        args = [fallback_text] if fallback_text else []
    cls: Any = None
    try:
        mod = builtins if module == "builtins" else sys.modules[str(module)]
        cls = mod
        for part in str(name).split("."):
            cls = getattr(cls, part)
        if not (isinstance(cls, type) and issubclass(cls, BaseException)):
            cls = None
    except Exception:
        cls = None
    if cls is not None:
        try:
            return cls(*args)
        except Exception:
            # the class does not rebuild from its arguments: Celery's wrapper for such exceptions
            from .serialization import UnpickleableExceptionWrapper
            return UnpickleableExceptionWrapper(str(module), str(name), list(args),
                                                f"{name}({', '.join(repr(a) for a in args)})")
    made = type(str(name).rpartition(".")[2] or "Exception", (Exception,), {"__module__": module or "builtins"})
    return made(*args)


def import_object(path: str, what: str) -> Any:
    """``"module.attr"`` or ``"module:attr"`` -> the object; errors name ``what``."""
    module, sep, attr = path.partition(":")
    if not sep:
        module, _, attr = path.rpartition(".")
    try:
        obj = importlib.import_module(module)
    except ImportError as exc:
        raise ImproperlyConfigured(f"{what}: cannot import {path!r}: {exc}") from exc
    for part in attr.split(".") if attr else []:
        try:
            obj = getattr(obj, part)
        except AttributeError:
            raise ImproperlyConfigured(f"{what}: {module!r} has no attribute {attr!r}") from None
    return obj
