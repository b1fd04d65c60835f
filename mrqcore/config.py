"""Configuration: defaults, then a Python config file, then ``MRQC_*`` variables, then flags.

Each later source wins. Every setting is declared once in ``SETTINGS`` with its
type, default and meaning; a value that does not fit is a ``ConfigError``
naming the setting, and an unknown name gets a "did you mean" hint.

The config file is plain Python (``mrqc_config.py`` in the working directory,
or ``--config PATH`` / ``MRQC_CONFIG``; else MRQ's ``mrq-config.py``). Its
upper-case names are settings: ``REDIS = "redis://..."``, ``GREENLETS = 10``,
``TASKS = {...}``. MRQ's configuration is read as MRQ reads it: its file, its
``MRQ_*`` variables (below ``MRQC_*``), and every name MRQ knows, each either
the mrqc setting of the same meaning (``DEFAULT_JOB_TIMEOUT`` -> ``timeout``),
accepted with no effect, or refused with the MRQ feature it configures and
what to do (``mrqcore.config_mrq``).

This module does not connect to anything; see ``mrqcore.runtime``.
"""
from __future__ import annotations

import difflib
import json
import os
import runpy
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping

from . import config_mrq
from .exceptions import ConfigError
from .urls import mask_url

DAY = 24 * 3600


@dataclass(frozen=True)
class Setting:
    name: str
    kind: str  # str, int, float, bool, list, dict, any, optstr
    default: Any
    help: str
    minimum: float | None = None


SETTINGS: dict[str, Setting] = {s.name: s for s in [
    Setting("redis", "optstr", None,
            "Store URL: redis://, rediss://, unix://, redis+sentinel:// (or sentinel://), "
            "redis+cluster:// (or rediss+cluster://), memory://. "
            "Unset: an embedded Redis in embedded_dir."),
    Setting("redis_prefix", "str", "mrqc:", "Prefix of every Redis key mrqc writes."),
    Setting("redis_retry_on_startup", "bool", True,
            "A worker started while Redis is unreachable waits and retries (see mrqcore.startup)."),
    Setting("redis_startup_max_retries", "int", 0, "Failed attempts before such a worker gives up (0: never).", 0),
    Setting("embedded_dir", "str", ".mrqc", "Folder of the embedded Redis (relative to the working dir)."),
    Setting("default_queue", "str", "default", "Queue of a task with no queue of its own."),
    Setting("timeout", "float", 3600, "Seconds a job may run before it is killed (0: no limit).", 0),
    Setting("result_ttl", "int", 7 * DAY, "Seconds a success record is kept (0: forever).", 0),
    Setting("abort_ttl", "int", DAY, "Seconds an abort record is kept (0: forever).", 0),
    Setting("cancel_ttl", "int", DAY, "Seconds a cancel record is kept (0: forever).", 0),
    Setting("default_ttl", "int", 28 * DAY,
            "Seconds other finished records (failed, timeout, maxretries, interrupt) are kept (0: forever).", 0),
    Setting("max_retries", "int", 3, "Retries a job may ask for before it becomes maxretries.", 0),
    Setting("retry_delay", "float", 3, "Seconds before a retried job runs again.", 0),
    Setting("queues", "list", ["default"], "Queues a worker serves, first listed first served."),
    Setting("greenlets", "int", 1, "Jobs one worker process runs at once.", 1),
    Setting("processes", "int", 0, "Worker processes to supervise (0: this process is the worker).", 0),
    Setting("max_jobs", "int", 0, "A worker exits after this many jobs (0: no limit).", 0),
    Setting("max_time", "float", 0, "A worker exits after this many seconds (0: no limit).", 0),
    Setting("max_memory", "int", 0, "A worker exits gracefully above this RSS in MB (0: no limit).", 0),
    Setting("burst", "bool", False, "Drain the queues, then exit."),
    # How a worker reads SIGTERM/SIGINT/SIGQUIT: docs/worker.md, "Stopping" (mrqcore.worker).
    Setting("shutdown_signals", "str", "mrq",
            "'mrq': SIGTERM interrupts running jobs (they are requeued), SIGINT finishes them; 'celery' "
            "(set by `mrqc worker -A`): SIGTERM and SIGINT finish them (warm), SIGQUIT interrupts them (cold)."),
    Setting("soft_shutdown_timeout", "float", 0,
            "'celery' signals: seconds a cold shutdown (SIGQUIT, second SIGINT) lets running jobs finish "
            "before interrupting and requeueing them (0: at once).", 0),
    Setting("dequeue_batch", "int", 0, "Jobs fetched per dequeue round trip (0: as many as free greenlets).", 0),
    Setting("poll_interval", "float", 1.0, "Seconds an idle worker waits for a wake-up before it looks again.", 0.01),
    Setting("heartbeat_interval", "float", 5.0, "Seconds between worker heartbeats.", 0.05),
    Setting("worker_lost_after", "float", 30.0,
            "Seconds without a heartbeat after which a worker's jobs are requeued.", 0.1),
    Setting("name", "optstr", None, "Worker name (default: host.pid)."),
    Setting("tasks", "dict", {}, "Per-task settings: {path: {queue, timeout, result_ttl, max_retries, ...}}."),
    Setting("raw_queues", "dict", {}, "Raw queue settings: {queue: {job_factory, retry_queue, ...}}."),
    Setting("scheduler_tasks", "list", [], "Periodic jobs, see docs/scheduler.md."),
    Setting("scheduler", "bool", False, "Run the scheduler inside this worker."),
    Setting("imports", "list", [], "Modules a worker imports at start (to register tasks)."),
    Setting("metric_hook", "any", None, "Callable or dotted path called as hook(name, incr, **kwargs)."),
    Setting("middleware", "list", [],
            "Middleware of every runtime built from this config: dotted paths to Middleware subclasses "
            "(instantiated with no arguments) or instances, or the objects themselves; loaded when the "
            "runtime is built."),
    Setting("log_level", "str", "INFO", "Level of the worker's log."),
    # Worker logging, Sentry and metrics: see docs/operations.md (mrqcore.logs, mrqcore.metrics_server).
    Setting("log_format", "str", "text", "Worker log lines: 'text', or 'json' (one JSON object a line)."),
    Setting("log_worker_format", "optstr", None, "%-format of the worker's own text lines (None: mrqc's)."),
    Setting("log_task_format", "optstr", None,
            "%-format of text lines logged inside a job; has %(task_name)s and %(job_id)s (None: mrqc's)."),
    Setting("log_hijack_root_logger", "bool", True,
            "The worker replaces the root logger's handlers with its own (False: adds to them)."),
    Setting("sentry_dsn", "optstr", None, "Sentry DSN; with it (or $SENTRY_DSN) a worker reports failed jobs."),
    Setting("sentry_report_retries", "bool", False, "Also report a job's failures that will be retried."),
    Setting("metrics_port", "int", 0, "Port of the worker's Prometheus /metrics and /healthz (0: off).", 0),
    Setting("log_lines_max", "int", 1000, "Log lines kept per job.", 0),
]}

# MRQ's names for the same settings, so an MRQ config file loads unchanged (all of MRQ's names:
# mrqcore.config_mrq).
ALIASES: dict[str, str] = {k: v for k, v in config_mrq.SAME.items() if k != v}

#: settings that take one of a few words
CHOICES: dict[str, tuple[str, ...]] = {"shutdown_signals": ("mrq", "celery")}  # mrqcore.shutdown.MODES

TASK_SETTINGS = ("queue", "timeout", "result_ttl", "abort_ttl", "cancel_ttl", "default_ttl",
                 "max_retries", "retry_delay", "max_concurrency")


def _suggest(name: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _coerce(setting: Setting, value: Any, from_text: bool) -> Any:
    """Turn ``value`` into the setting's type or raise ConfigError naming it."""
    name, kind = setting.name, setting.kind
    try:
        if kind == "any":
            return value
        if kind == "optstr":
            if value is None or (from_text and value == ""):
                return None
            if not isinstance(value, str):
                raise TypeError
            return value
        if kind == "str":
            if not isinstance(value, str) or not value:
                raise TypeError
            return value
        if kind == "bool":
            if isinstance(value, bool):
                return value
            if from_text and str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if from_text and str(value).lower() in ("0", "false", "no", "off", ""):
                return False
            raise TypeError
        if kind in ("int", "float"):
            if isinstance(value, bool):
                raise TypeError
            if from_text:
                value = float(value) if kind == "float" else int(value)
            if kind == "int" and not isinstance(value, int):
                raise TypeError
            if not isinstance(value, (int, float)):
                raise TypeError
            if setting.minimum is not None and value < setting.minimum:
                raise ConfigError(name, f"{value!r} is below the minimum {setting.minimum:g}")
            return float(value) if kind == "float" else value
        if kind == "list":
            if from_text and isinstance(value, str):
                value = json.loads(value) if value.startswith("[") else [v for v in value.split(",") if v]
            if isinstance(value, tuple):
                value = list(value)
            if not isinstance(value, list):
                raise TypeError
            return value
        if kind == "dict":
            if from_text and isinstance(value, str):
                value = json.loads(value)
            if not isinstance(value, Mapping):
                raise TypeError
            return dict(value)
    except ConfigError:
        raise
    except (TypeError, ValueError):
        pass
    raise ConfigError(name, f"expected {kind}, got {mask_url(value)!r}")


class Config:
    """The resolved settings, read as attributes: ``config.greenlets``.

    Build one with ``Config.load()``; it is not changed afterwards except by
    ``with_overrides``, which returns a new Config.
    """

    def __init__(self, values: Mapping[str, Any] | None = None, source: str | None = None) -> None:
        self._values: dict[str, Any] = {n: s.default for n, s in SETTINGS.items()}
        for k, v in (values or {}).items():
            self._values[k] = v
        self.source = source
        self._validate_tasks()
        self._validate_choices()

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["_values"][name]
        except KeyError:
            raise AttributeError(f"no setting {name!r}{_suggest(name, SETTINGS)}") from None

    def __repr__(self) -> str:
        return f"Config(source={self.source!r})"

    def as_dict(self) -> dict[str, Any]:
        return dict(self._values)

    def with_overrides(self, overrides: Mapping[str, Any]) -> "Config":
        values = dict(self._values)
        values.update(_normalize(overrides, from_text=False, origin="override"))
        return Config(values, self.source)

    def task_settings(self, path: str, task_class: type | None = None) -> dict[str, Any]:
        """Settings for one task: defaults < class attributes < ``TASKS[path]``."""
        out: dict[str, Any] = {
            "queue": None, "timeout": self.timeout, "result_ttl": self.result_ttl,
            "abort_ttl": self.abort_ttl, "cancel_ttl": self.cancel_ttl,
            "default_ttl": self.default_ttl, "max_retries": self.max_retries,
            "retry_delay": self.retry_delay, "max_concurrency": 0,
        }
        if task_class is not None:
            for key in TASK_SETTINGS:
                value = getattr(task_class, key, None)
                if value is not None:
                    out[key] = value
        out.update(self._values["tasks"].get(path, {}))
        return out

    def _validate_tasks(self) -> None:
        for path, conf in self._values["tasks"].items():
            check_entry("tasks", path, conf, TASK_SETTINGS)

    def _validate_choices(self) -> None:
        for name, allowed in CHOICES.items():
            value = self._values[name]
            if value not in allowed:
                raise ConfigError(name, f"must be one of {', '.join(map(repr, allowed))}, got {value!r}"
                                        f"{_suggest(str(value), allowed)}")

    @classmethod
    def load(cls, config_file: str | None = None, env: Mapping[str, str] | None = None,
             overrides: Mapping[str, Any] | None = None, cwd: str | None = None) -> "Config":
        """Resolve defaults < config file < ``MRQ_*`` < ``MRQC_*`` environment < ``overrides``.

        ``config_file`` defaults to ``$MRQC_CONFIG``, else ``mrqc_config.py`` in
        ``cwd`` if it exists, else MRQ's ``mrq-config.py`` there. MRQ's
        ``MRQ_*`` variables come between the file and ``MRQC_*``. ``overrides``
        holds command-line flags; ``None`` values in it are ignored (flag not given).
        """
        env = os.environ if env is None else env
        cwd = cwd or os.getcwd()
        values: dict[str, Any] = {}
        path = config_file or env.get("MRQC_CONFIG")
        for default_name in ("mrqc_config.py", config_mrq.MRQ_CONFIG_FILE):
            if not path and os.path.exists(os.path.join(cwd, default_name)):
                path = os.path.join(cwd, default_name)
        if path:
            values.update(_read_config_file(path))
        values.update(_read_mrq_env(env))
        values.update(_read_env(env))
        values.update(_normalize({k: v for k, v in (overrides or {}).items() if v is not None},
                                 from_text=False, origin="option"))
        return cls(values, source=path)


def check_entry(setting: str, name: str, entry: Any, allowed: Iterable[str]) -> None:
    """One entry of a mapping setting (``tasks``, ``raw_queues``): a dict with only ``allowed`` keys."""
    if not isinstance(entry, Mapping):
        raise ConfigError(setting, f"entry {name!r} must be a dict, got {entry!r}")
    allowed = tuple(allowed)
    for key in entry:
        if key not in allowed:
            raise ConfigError(setting, f"entry {name!r} has unknown key {key!r}{_suggest(key, allowed)}")


def _normalize(raw: Mapping[str, Any], from_text: bool, origin: str, mrq_source: bool = False) -> dict[str, Any]:
    """Settings by mrqc name, checked; MRQ's names read through ``config_mrq`` (``mrq_source``: the
    values come from MRQ's own file or ``MRQ_*``). Every MRQ name refused is reported in one error."""
    out: dict[str, Any] = {}
    refused: list[tuple[str, str]] = []
    for key, value in raw.items():
        name = key.lower()
        setting = None if mrq_source and name in config_mrq.MRQ_SOURCE_ONLY else SETTINGS.get(name)
        if setting is None:
            try:
                reading = config_mrq.read_mrq_name(name, value, mrq_source)
            except KeyError:
                hint = (" (MRQ let its config file hold a project's own values; mrqc's holds settings only: "
                        "move it to a module of yours)") if mrq_source else ""
                choices = list(SETTINGS) + sorted(config_mrq.MRQ_NAMES)
                raise ConfigError(key, f"unknown {origin}{_suggest(name, choices)}{hint}") from None
            if reading is None:  # an MRQ name with no effect here
                continue
            if isinstance(reading, str):
                refused.append((key, reading))
                continue
            name, value = reading
            setting = SETTINGS[name]
        out[name] = _coerce(setting, value, from_text)
    if len(refused) == 1:
        raise ConfigError(refused[0][0], f"{origin}: {refused[0][1]}")
    if refused:
        raise ConfigError(refused[0][0], f"{origin}: {len(refused)} MRQ settings are not part of mrqc:\n"
                                         + "\n".join(f"  {key}: {message}" for key, message in refused))
    return out


def _read_config_file(path: str) -> dict[str, Any]:
    if not os.path.exists(path):
        raise ConfigError("config", f"file {path!r} does not exist")
    try:
        namespace = runpy.run_path(path)
    except Exception as exc:  # the file is user code: say which file broke
        raise ConfigError("config", f"file {path!r} raised {type(exc).__name__}: {exc}") from exc
    raw = {k: v for k, v in namespace.items() if k.isupper() and not k.startswith("_")}
    mrq_source = os.path.basename(path) == config_mrq.MRQ_CONFIG_FILE
    return _normalize(raw, from_text=False, origin=f"setting in {path}", mrq_source=mrq_source)


def _read_mrq_env(env: Mapping[str, str]) -> dict[str, Any]:
    """MRQ's ``MRQ_<NAME>`` variables, for the names MRQ knows (MRQ ignores others; so does this)."""
    raw: dict[str, Any] = {}
    for key, value in env.items():
        name = key[len(config_mrq.MRQ_ENV_PREFIX):].lower()
        if not key.startswith(config_mrq.MRQ_ENV_PREFIX) or name not in config_mrq.MRQ_NAMES or not value:
            continue
        raw[key[len(config_mrq.MRQ_ENV_PREFIX):]] = ",".join(value.split()) if name == "queues" else value
    return _normalize(raw, from_text=True, origin="environment variable MRQ_*", mrq_source=True) if raw else {}


def _read_env(env: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in env.items():
        if not key.startswith("MRQC_") or key in _ENV_NOT_SETTINGS or key.startswith("MRQC_TEST_"):
            continue
        try:
            out.update(_normalize({key[len("MRQC_"):]: value}, from_text=True, origin="setting"))
        except ConfigError as exc:
            raise ConfigError(exc.setting.lower(), f"environment variable {key}: "
                                                   f"{str(exc).split(': ', 1)[1]}") from None
    return out


# Variables that share the prefix but are not settings (MRQC_CELERY_WIRE: read by the upper layers).
_ENV_NOT_SETTINGS = {"MRQC_CONFIG", "MRQC_APP", "MRQC_CELERY_WIRE"}


def resolve_callable(value: Any, setting: str) -> Callable[..., Any] | None:
    """A setting that holds a callable or a ``"module.attr"`` path to one."""
    if value is None or callable(value):
        return value
    if isinstance(value, str) and "." in value:
        import importlib
        module, _, attr = value.rpartition(".")
        try:
            return getattr(importlib.import_module(module), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(setting, f"cannot import {value!r}: {exc}") from exc
    raise ConfigError(setting, f"expected a callable or 'module.attr', got {value!r}")
