"""JSON encoding of params and results, strict and fast (orjson).

Only JSON's own types travel: dict with str keys, list, tuple (read back as a
list), str, int, float, bool and None. Anything else (a set, a datetime, an
object) is refused *before* anything is written, with the path of the bad value
in the message, so a job is never half-queued and never silently changed. A
str holding a lone surrogate (what ``os.listdir`` returns for a non-UTF-8 file
name) is refused the same way: UTF-8 cannot carry it.

Free text a job writes about itself (log lines, tracebacks, exception names)
is not refused but made storable with ``safe_text``: a log line must never
stop a job, nor the worker recording it.
"""
from __future__ import annotations

import math
from typing import Any

import orjson

from .exceptions import SerializationError

_OPTIONS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_SUBCLASS

_PLAIN = (str, int, float, bool, type(None))


def safe_text(text: str) -> str:
    """``text`` if UTF-8 can encode it, else a copy with each lone surrogate written as ``\\udcXX``.

    The one rule for free text a job writes to its record and log (log lines,
    tracebacks): Redis and JSON take UTF-8 only, and a string from
    ``surrogateescape`` decoding (``b"caf\\xe9"`` read as ``"caf\\udce9"``) is not.
    """
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def dumps(value: Any, what: str = "value") -> bytes:
    """Encode ``value``; raise SerializationError naming the bad part (``what`` labels the root)."""
    try:
        return orjson.dumps(value, option=_OPTIONS)
    except (TypeError, orjson.JSONEncodeError) as exc:
        path, bad, detail = _find_bad(value, what)
        raise SerializationError(what, path, bad, detail or str(exc)) from None


def dumps_checked(value: Any, what: str = "value") -> bytes:
    """Like ``dumps`` but also refuses NaN and infinities, which JSON cannot carry."""
    data = dumps(value, what)
    if b"null" in data:  # orjson writes NaN/inf as null: look only when it could have happened
        path, bad, detail = _find_bad(value, what)
        if path:
            raise SerializationError(what, path, bad, detail)
    return data


def loads(data: bytes | str | None) -> Any:
    if data is None:
        return None
    return orjson.loads(data)


def _find_bad(value: Any, path: str) -> tuple[str, Any, str]:
    """Walk ``value`` and return (path, bad value, why) of the first part JSON cannot carry."""
    if isinstance(value, bool) or value is None:
        return "", None, ""
    if isinstance(value, str):
        if type(value) is str and not _encodable(value):
            return path, value, _SURROGATE
        return "", None, ""
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return path, value, "NaN and infinity are not JSON"
        return "", None, ""
    if isinstance(value, int):
        if type(value) is not int:
            return path, value, "int subclass"
        if not -(2 ** 63) <= value < 2 ** 64:
            return path, value, "integer exceeds 64-bit range"
        return "", None, ""
    if type(value) is dict:
        for key, item in value.items():
            if not isinstance(key, str) or type(key) is not str:
                return f"{path} key {key!r}", key, "keys must be str"
            if not _encodable(key):
                return f"{path} key {key!r}", key, _SURROGATE
            found = _find_bad(item, f"{path}[{key!r}]")
            if found[0]:
                return found
        return "", None, ""
    if type(value) in (list, tuple):
        for index, item in enumerate(value):
            found = _find_bad(item, f"{path}[{index}]")
            if found[0]:
                return found
        return "", None, ""
    if type(value) in _PLAIN:
        return "", None, ""
    return path, value, "not a JSON type"


_SURROGATE = ("contains a lone surrogate (e.g. from a non-UTF-8 file name), which UTF-8 cannot encode; "
              "decode such bytes with errors='replace' or 'backslashreplace'")


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False
