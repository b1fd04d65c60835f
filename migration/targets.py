"""Where each Celery and MRQ name lives in mrqc, checked against the real modules.

``celery_target(module, name)`` answers "what does ``from celery.X import N``
become?" by importing the mrqc module and looking the name up, so the tool
never writes an import that fails. ``MODULES`` lists the Celery modules whose
mrqc home has another path; any other ``celery.X`` maps to ``mrqc.X`` when that
module imports. Celery internals (``INTERNALS``) are never mapped, even where
mrqc happens to have a module of the same name: their API is not compat's.

The refusal tables come from compat itself (``mrqc.settings`` and
``mrqc.task``), so the tool and the runtime never disagree; this module only
turns them into findings.
"""
from __future__ import annotations

import ast
import importlib
from dataclasses import dataclass
from types import ModuleType
from typing import Any

#: Celery module -> its mrqc home, where the path differs (the rest: celery.X -> mrqc.X)
MODULES: dict[str, str] = {
    "celery": "mrqc",
    "celery.app.task": "mrqc.task",
    "celery.app.base": "mrqc.app",
    "celery.app.control": "mrqc.control",
    "celery.app.utils": "mrqc.app_config",
    "celery.contrib.testing.worker": "mrqc.contrib.testing",
    "celery.contrib.testing.app": "mrqc.contrib.testing",
    "celery.contrib.testing": "mrqc.contrib.testing",
    "celery.utils.log": "mrqc.utils.log",
}

_INTERNAL = ("Celery internals: mrqc runs its own worker (mrqcore.worker.Worker), so code that hooks into "
             "Celery's worker, pool or tracer has no place to hook")
#: Celery module prefixes never mapped -> (reason, action)
INTERNALS: dict[str, tuple[str, str]] = {
    "celery.bootsteps": ("bootsteps extend Celery's worker, which mrqc does not run",
                         "move the step's work into a worker service (Worker.add_service) or middleware "
                         "(worker_start/worker_stop hooks)"),
    "celery.worker": (_INTERNAL, "use mrqc middleware (before_perform/after_perform) or worker services"),
    "celery.app.trace": (_INTERNAL, "use signals (task_prerun/task_postrun) or middleware instead of the tracer"),
    "celery.concurrency": ("mrqc workers always run gevent greenlets", "drop the pool code; see docs/worker.md"),
    "celery.backends": ("results live in the job records on the broker Redis", "drop the backend code"),
    "celery.events": ("mrqc has no event bus", "read job records (mrqc jobs, mrqc status) instead"),
    "celery.apps": (_INTERNAL, "start workers with `mrqc worker -A proj`"),
    "celery.bin": ("Celery's command-line internals", "use the mrqc CLI"),
    "celery.loaders": (_INTERNAL, "use app.config_from_object / app.autodiscover_tasks"),
    "celery.platforms": (_INTERNAL, "use the standard library (os, signal)"),
    "celery.fixups": (_INTERNAL, "call django.setup() before creating the app"),
    "celery.security": ("message signing is not supported (JSON only)", "drop it"),
    "celery.contrib.rdb": ("remote debugging of a worker process is not provided", "use a local debugger"),
    "celery.contrib.migrate": ("moving messages between brokers is not provided", "use mrqc requeue"),
    "celery.contrib.sphinx": ("the Sphinx task directive is not provided", "document tasks with autodoc"),
    "celery.contrib.abortable": ("mrqc has no AbortableTask yet", "use result.revoke(terminate=True)"),
    "kombu": ("kombu objects belong to Celery's AMQP model", "use queue names (str) in task_queues/routes"),
}

#: top-level names of ``import celery`` that need special reasons when used as ``celery.X``
_ATTRIBUTE_MODULES = ("bootsteps", "worker", "concurrency", "backends", "events", "apps", "bin", "loaders",
                      "platforms", "fixups", "security")


@dataclass(frozen=True)
class Refusal:
    """Why a construct cannot be converted, and what the user should do."""

    reason: str
    action: str


def _import(module: str) -> ModuleType | None:
    try:
        return importlib.import_module(module)
    except ImportError:
        return None


def internal(module: str) -> Refusal | None:
    """The refusal for a Celery internal module (or a submodule of one), else None."""
    for prefix, (reason, action) in INTERNALS.items():
        if module == prefix or module.startswith(prefix + "."):
            if prefix == "celery.contrib.abortable" and _import("mrqc.contrib.abortable") is not None:
                return None  # compat has it now
            return Refusal(reason, action)
    return None


def celery_module(module: str) -> str | Refusal:
    """The mrqc module that stands for Celery's ``module``, or why there is none."""
    refusal = internal(module)
    if refusal is not None:
        return refusal
    target = MODULES.get(module, "mrqc" + module[len("celery"):])
    if _import(target) is None:
        return Refusal(f"mrqc has no counterpart of {module}", f"rewrite this code for mrqc; see docs/celery-compat.md")
    return target


def celery_name(module: str, name: str) -> str | Refusal:
    """The mrqc module to import ``name`` from in place of ``from module import name``, or why not."""
    target = celery_module(module)
    if isinstance(target, Refusal):
        return target
    if module == "celery" and name in _ATTRIBUTE_MODULES:
        return internal(f"celery.{name}") or Refusal(f"mrqc has no {name}", "rewrite this code for mrqc")
    mod = _import(target)
    if mod is not None and hasattr(mod, name):
        return target
    if _import(f"{target}.{name}") is not None and internal(f"{module}.{name}") is None:
        return target  # a submodule: `from celery.contrib import pytest`
    refusal = internal(f"{module}.{name}")
    if refusal is not None:
        return refusal
    return Refusal(f"mrqc has no {name!r} in {target}", f"rewrite the code that uses {name} for mrqc, or drop it")


def celery_attribute(dotted: str) -> str | Refusal:
    """``celery.a.b.c`` as used after ``import celery``: the mrqc dotted name, or why not."""
    parts = dotted.split(".")
    for cut in range(len(parts) - 1, 0, -1):
        module = ".".join(parts[:cut])
        if _import(module.replace("celery", "mrqc", 1) if module != "celery" else "mrqc") is None \
                and module not in MODULES:
            continue
        found = celery_name(module, parts[cut])
        if isinstance(found, Refusal):
            return found
        return ".".join([found, *parts[cut:]])
    return celery_module(dotted)


# --- MRQ -------------------------------------------------------------------------------------

#: MRQ module -> mrqcore module, where the path differs (the rest: mrq.X -> mrqcore.X)
MRQ_MODULES: dict[str, str] = {"mrq": "mrqcore", "mrq.queue": "mrqcore.queues"}
MRQ_INTERNALS: dict[str, tuple[str, str]] = {
    "mrq.dashboard": ("MRQ's dashboard is not provided", "use `mrqc status`, `mrqc jobs`, `mrqc workers`"),
    "mrq.agent": ("MRQ's agent is not provided", "run `mrqc worker --processes N` under your process manager"),
    "mrq.basetasks": ("MRQ's maintenance tasks run inside every mrqc worker", "drop the scheduled maintenance jobs"),
    "mrq.monkey": ("mrqc patches with gevent itself", "drop it"),
    "mrq.logger": ("job logs are stored in Redis", "use mrqcore.context.log"),
}


def mrq_name(module: str, name: str | None) -> str | Refusal:
    """The mrqcore module for ``from module import name`` (or ``import module`` when name is None)."""
    for prefix, (reason, action) in MRQ_INTERNALS.items():
        if module == prefix or module.startswith(prefix + "."):
            return Refusal(reason, action)
    target = MRQ_MODULES.get(module, "mrqcore" + module[len("mrq"):])
    mod = _import(target)
    if mod is None:
        return Refusal(f"mrqcore has no counterpart of {module}", "rewrite this code for mrqcore")
    if name is not None and not hasattr(mod, name) and _import(f"{target}.{name}") is None:
        return Refusal(f"mrqcore has no {name!r} in {target}", f"rewrite the code that uses {name} for mrqcore")
    return target


# --- refusals read from compat ----------------------------------------------------------------

def setting_problem(name: str, value_source: str | None) -> Refusal | None:
    """Why compat would refuse the Celery setting ``name`` (new or old form) with this value, else None.

    ``value_source`` is the value's Python source; a literal is checked with
    compat's own ``validate``; a non-literal value is only refused for
    settings compat refuses whatever their value.
    """
    from mrqc.exceptions import ImproperlyConfigured
    from mrqc.settings import UNSUPPORTED, canonical, validate
    try:
        key = canonical(name)
    except ImproperlyConfigured as exc:
        return Refusal(str(exc), "fix the name, or delete the setting")
    value: Any
    try:
        value = ast.literal_eval(value_source) if value_source is not None else None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        refused = UNSUPPORTED.get(key) or next((w for p, w in UNSUPPORTED.items()
                                                if p.endswith("_") and key.startswith(p)), None)
        if refused:
            return Refusal(f"setting {key!r} is not supported by mrqc: {refused}", "delete the setting")
        return None
    try:
        validate(key, value)
    except ImproperlyConfigured as exc:
        return Refusal(str(exc), "change or delete the setting (see docs/celery-compat.md)")
    return None


def task_option_problem(option: str, value_source: str | None) -> Refusal | None:
    """Why compat would refuse the task option ``option=value`` at declaration, else None."""
    from mrqc.task import TASK_OPTIONS, restricted_task_options
    from mrqc.utils import suggest
    if option in ("bind", "base", "shared"):
        return None
    if option.startswith("on_") or option in ("after_return", "before_start"):
        return None
    if option not in TASK_OPTIONS:
        return Refusal(f"unknown task option {option!r}{suggest(option, TASK_OPTIONS)}", "fix or delete the option")
    rule = restricted_task_options().get(option)
    if rule is None:
        return None
    try:
        value = ast.literal_eval(value_source) if value_source is not None else None
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return Refusal(f"task option {option}= is restricted: {rule[1]}", "delete the option")
    if value in rule[0]:
        return None
    return Refusal(f"task option {option}={value!r} is not supported: {rule[1]}", "delete or change the option")


def unsupported_task_methods() -> dict[str, str]:
    """Task methods compat refuses at call time (probed on a throwaway Task), with compat's message."""
    from mrqc.exceptions import UnsupportedOption
    from mrqc.task import Task
    out: dict[str, str] = {}
    for method in ("replace", "add_to_chord", "add_trail"):
        fn = getattr(Task, method, None)
        if fn is None:
            out[method] = f"Task.{method}() does not exist in mrqc"
            continue
        try:
            fn(Task.__new__(Task), None)
        except UnsupportedOption as exc:
            message = str(exc)
            out[method] = message.split(": ", 1)[1] if message.startswith("None: ") else message
        except Exception:  # noqa: BLE001 - any other error means the method exists and does work
            pass
    return out


def control_methods() -> frozenset[str]:
    """``app.control`` methods compat serves (everything else raises UnsupportedOption)."""
    from mrqc.control import Control
    return frozenset(n for n in vars(Control) if not n.startswith("_"))


def inspect_methods() -> frozenset[str]:
    """``app.control.inspect()`` methods compat serves (everything else raises UnsupportedOption)."""
    from mrqc.control import Inspect
    return frozenset(n for n in vars(Inspect) if not n.startswith("_"))


def broadcast_commands() -> frozenset[str]:
    """Command names ``app.control.broadcast(name)`` reaches a worker with: the ``mrqc inspect``/``mrqc
    control`` commands (``mrqc.cli_control``'s tables, which broadcast them by these names)."""
    from mrqc.cli_control import CONTROL_COMMANDS, INSPECT_COMMANDS
    return frozenset(INSPECT_COMMANDS) | frozenset(CONTROL_COMMANDS)
