"""Command lines: ``celery ...``, ``mrq-worker ...``, ``mrq-run ...`` to the ``mrqc`` commands of today.

``convert(argv)`` takes one command's words (program first) and returns the
new words plus notes, or a ``Refusal`` when any part has no mrqc equivalent
(the whole command is then left as it is: a half-converted command line would
fail in a way that is harder to read than the original).

Celery's ``worker``, ``purge``, ``call``, ``report`` and ``shell`` are kept
**as written**, only ``celery`` becoming ``mrqc``: ``mrqc`` takes Celery's own
flags for them (``mrqcore.worker_flags``, ``mrqc.cli_celery``), so
``celery -A proj worker -l info -c 8 -Q a,b -n w@%h -P gevent -E -Ofair`` is
``mrqc -A proj worker -l info -c 8 -Q a,b -n w@%h -P gevent -E -Ofair``. Each
option is checked against the real click command (``_mrqc_flags``) and, where
mrqc limits its values, against mrqc's own check:

=========================================  ===================================================
Celery                                     mrqc
=========================================  ===================================================
a flag ``mrqc <command>`` takes            kept as written (``-A``, ``-l``, ``-c``, ``-Q``,
                                           ``-n`` with ``%h``, ``-B``, ``-P gevent|solo|prefork``,
                                           ``-E``, ``-O``, ``--autoscale``, ``--without-*``,
                                           ``-s``, ``--max-tasks-per-child``...; purge's ``-Q -X
                                           -f``; call's ``--args --kwargs --queue --countdown
                                           --eta --expires``)
``--events``, ``--schedule-filename``      ``-E``, ``--schedule`` (mrqc's spelling)
``-b/--broker URL`` (redis)                ``--redis URL``, after the command name
``-P eventlet|threads|processes``          left and reported, with mrqc's reason
``--prefetch-multiplier``, ``-C``, ``-q``,  dropped, each named in the report (no prefetch,
``--skip-checks``, ``--heartbeat-interval`` plain output, no start-up checks...)
anything else                              the command is left and reported
=========================================  ===================================================

Remote control is kept as written too, when ``mrqc`` serves the verb (the
tables of ``mrqc.cli_control``, which also check the verb's arguments):
``celery -A proj inspect active -t 5 -d w@h -j`` is ``mrqc -A proj inspect
active -t 5 -d w@h -j``, ``celery control revoke|terminate|rate_limit|...``
likewise; a verb mrqc does not serve (``inspect memdump``, ``control
pool_restart``, ``election``, ``heartbeat``...) is reported, naming it.
``celery status`` is ``mrqc inspect ping`` (Celery's status is that ping);
``celery events [--dump]`` is ``mrqc events`` (the dump form; a ``--camera`` is
reported).

``beat`` keeps ``-A -l -s --max-interval``; ``result`` maps to ``mrqc
result``; other subcommands (``multi``, ``flower``, ``amqp``...) are reported.
"""
from __future__ import annotations

import json
import math
import posixpath
import re
from dataclasses import dataclass, field

from .targets import Refusal

PROGRAMS = ("celery", "mrq-worker", "mrq-run")


@dataclass
class Converted:
    argv: list[str]
    notes: list[str] = field(default_factory=list)


def _mrqc_flags(command: str) -> set[str]:
    """The option strings of ``mrqc COMMAND`` (read from the real click command)."""
    from mrqcore.cli import _register_extensions, cli
    if command not in cli.commands:
        _register_extensions()
    cmd = cli.commands.get(command)
    if cmd is None:
        return set()
    return {opt for p in cmd.params for opt in (*p.opts, *p.secondary_opts) if opt.startswith("-")}


def program_of(word: str) -> str | None:
    """``celery``, ``mrq-worker`` or ``mrq-run`` if ``word`` runs one (a path to it counts), else None."""
    base = posixpath.basename(word)
    return base if base in PROGRAMS else None


def convert(argv: list[str]) -> Converted | Refusal:
    """Convert one command (``argv[0]`` runs celery/mrq-worker/mrq-run; ``python -m celery`` too)."""
    prefix: list[str] = []
    if len(argv) >= 3 and argv[1] == "-m" and argv[2] == "celery":
        program, rest = "celery", argv[3:]
    else:
        program, rest = program_of(argv[0]) or "", argv[1:]
        if "/" in argv[0]:
            prefix = [posixpath.join(posixpath.dirname(argv[0]), "mrqc")]
    mrqc = prefix[0] if prefix else "mrqc"
    if program == "celery":
        result = _celery(rest)
    elif program == "mrq-worker":
        result = _mrq(rest, "worker")
    elif program == "mrq-run":
        result = _mrq(rest, "run")
    else:
        return Refusal(f"not a celery/mrq command: {argv[0]}", "convert it by hand")
    if isinstance(result, Refusal):
        return result
    result.argv = [mrqc, *result.argv]
    return result


# --- celery ----------------------------------------------------------------------------------------

#: option -> (key, takes a value)
_OPTIONS: dict[str, tuple[str, bool]] = {}
for _names, _key, _value in [
    (("-A", "--app"), "app", True), (("-b", "--broker"), "broker", True), (("--result-backend",), "backend", True),
    (("--workdir",), "workdir", True), (("--config",), "config", True), (("--loader",), "loader", True),
    (("-C", "--no-color"), "no_color", False), (("-q", "--quiet"), "quiet", False),
    (("--skip-checks",), "skip_checks", False),
    (("-l", "--loglevel"), "loglevel", True), (("-c", "--concurrency"), "concurrency", True),
    (("-Q", "--queues"), "queues", True), (("-n", "--hostname"), "hostname", True),
    (("-B", "--beat"), "beat", False), (("-P", "--pool"), "pool", True),
    (("-E", "--task-events", "--events"), "events", False), (("--without-gossip",), "without_gossip", False),
    (("--without-mingle",), "without_mingle", False), (("--without-heartbeat",), "without_heartbeat", False),
    (("-O",), "optimization", True), (("--prefetch-multiplier",), "prefetch", True),
    (("-s", "--schedule", "--schedule-filename"), "schedule", True),
    (("--max-tasks-per-child",), "max_tasks", True), (("--max-memory-per-child",), "max_memory", True),
    (("--max-interval",), "max_interval", True), (("-S", "--scheduler"), "scheduler_cls", True),
    (("--autoscale",), "autoscale", True), (("-X", "--exclude-queues"), "exclude_queues", True),
    (("--time-limit",), "time_limit", True), (("--soft-time-limit",), "soft_time_limit", True),
    (("--pidfile",), "pidfile", True), (("-f", "--logfile"), "logfile", True), (("--uid",), "uid", True),
    (("--gid",), "gid", True), (("--umask",), "umask", True), (("--executable",), "executable", True),
    (("-D", "--detach"), "detach", False), (("--statedb",), "statedb", True), (("--purge", "--discard"), "purge", False),
    (("-I", "--include"), "include", True), (("--heartbeat-interval",), "heartbeat_interval", True),
    (("-f", "--force"), "force", False), (("--terminate",), "terminate", False), (("--signal",), "signal", True),
    (("-t", "--traceback"), "traceback", False), (("-a", "--args"), "args", True), (("-k", "--kwargs"), "kwargs", True),
    (("--queue",), "queue", True), (("--countdown",), "countdown", True), (("--eta",), "eta", True),
    (("--expires",), "expires", True), (("--serializer",), "serializer", True),
    (("--routing-key",), "routing_key", True), (("--exchange",), "exchange", True),
    (("--timeout",), "timeout", True), (("--destination",), "destination", True), (("--json",), "json", False),
    (("--dump",), "dump", False), (("--camera",), "camera", True), (("--frequency", "--freq"), "frequency", True),
    (("--maxrate",), "maxrate", True),
]:
    for _name in _names:
        _OPTIONS.setdefault(_name, (_key, _value))
# per-subcommand short options that clash with the table above
_REMOTE_SHORT = {"-t": ("timeout", True), "-d": ("destination", True), "-j": ("json", False)}
_SUB_SHORT = {"purge": {"-f": ("force", False), "-Q": ("queues", True), "-X": ("exclude_queues", True)},
              "worker": {"-f": ("logfile", True)},
              "inspect": _REMOTE_SHORT, "control": _REMOTE_SHORT, "status": _REMOTE_SHORT,
              "events": {"-d": ("dump", False), "-c": ("camera", True), "-F": ("frequency", True),
                         "-r": ("maxrate", True)}}

#: worker/beat flags accepted and dropped, with the reason the report gives
_DROPPED = {
    "pool": "mrqc workers always run gevent greenlets", "events": "mrqc has no event bus",
    "without_gossip": "mrqc workers do not gossip", "without_mingle": "mrqc workers do not mingle",
    "without_heartbeat": "mrqc workers heartbeat through Redis always",
    "optimization": "no prefetch in mrqc", "prefetch": "no prefetch in mrqc",
    "schedule": "beat state lives in Redis", "no_color": "plain output", "quiet": "plain output",
    "skip_checks": "no start-up checks", "heartbeat_interval": "heartbeats are mrqc's heartbeat_interval setting",
    "dump": "mrqc events always prints events as lines (celery events --dump)",
}


#: Celery subcommands ``mrqc`` runs with Celery's own flags: converted by renaming the program only
_AS_WRITTEN = ("worker", "purge", "call", "report", "shell")
#: Celery spellings mrqc takes under another name
_RESPELL = {"--events": "-E", "--schedule-filename": "--schedule"}
#: options Celery takes before the subcommand that ``mrqc`` takes there too
_GROUP_OPTIONS = {"app"}


def _as_written(words: list[str], sub: str, target: list[str] | None = None) -> Converted | Refusal:
    """``celery`` + ``words`` -> ``mrqc`` + the same words, but for the few options mrqc spells otherwise.

    ``target`` (default ``[sub]``) is written in place of the subcommand, and
    the options are checked against ``mrqc target[0]``.
    """
    target = target or [sub]
    flags = _mrqc_flags(target[0])
    sub_short = _SUB_SHORT.get(sub, {})
    out: list[str] = []
    notes: list[str] = []
    after: list[str] = []  # moved right after the subcommand (--redis)
    seen_sub = False
    i = 0
    while i < len(words):
        word = words[i]
        if not (word.startswith("-") and word != "-" and not re.match(r"^-\d", word)):
            if word == sub and not seen_sub:
                seen_sub = True
                out.extend(target)
                out.extend(after)
                after = []
            else:
                out.append(word)
            i += 1
            continue
        name, eq, inline = word.partition("=")
        glued = not eq and len(name) > 2 and not name.startswith("--")
        if glued:
            name, inline = name[:2], name[2:]  # -Aproj, -linfo, -Ofair
        spec = (sub_short.get(name) if seen_sub else None) or _OPTIONS.get(name)
        if spec is None:
            return Refusal(f"celery option {name} has no mrqc equivalent (unknown to this tool)",
                           "remove the option or convert the command by hand")
        key, takes = spec
        written = [word]
        value = inline if (eq or glued) else None
        if takes and value is None:
            if i + 1 >= len(words):
                return Refusal(f"celery option {name} needs a value", "fix the command")
            value = words[i + 1]
            written.append(value)
        i += len(written)
        if key == "broker":
            if value and (value.startswith(("redis://", "rediss://", "unix://")) or _is_var(value)):
                if seen_sub:
                    out += ["--redis", value]
                else:
                    after += ["--redis", value]
                continue
            return Refusal(f"broker {value!r} is not Redis", "mrqc runs on Redis: pass --redis redis://...")
        if not seen_sub and key in _GROUP_OPTIONS or seen_sub and name in flags:
            problem = _value_problem(key, value or "")
            if problem:
                return Refusal(f"celery option {' '.join(written)}: {problem}", "change it, or convert by hand")
            out += written
        elif seen_sub and name in _RESPELL:
            new = _RESPELL[name]
            out += [new] + ([value or ""] if takes else [])
            notes.append(f"{name} -> {new}")
        elif key in _DROPPED and name not in flags:
            shown = f"{name} {value}" if takes else name
            notes.append(f"dropped {shown}: {_DROPPED[key]}")
        else:
            return Refusal(f"celery option {' '.join(written)} has no mrqc equivalent",
                           "remove it (see docs/migration.md for what to use instead) or convert by hand")
    out.extend(after)
    return Converted(out, notes)


def _value_problem(key: str, value: str) -> str | None:
    """Why mrqc would refuse this value of a flag it takes (its own checks), or None."""
    if _is_var(value):
        return None
    from mrqcore.worker_flags import POOLS, REFUSED_POOLS, expand_node_name
    if key == "pool":
        pool = value.strip().lower()
        if pool in REFUSED_POOLS:
            return REFUSED_POOLS[pool]
        if pool not in POOLS:
            return f"unknown pool; mrqc has {', '.join(POOLS)}"
    if key == "optimization" and value.lower() not in ("fair", "default"):
        return "mrqc takes -O fair or -O default"
    if key == "hostname":
        import click
        try:
            expand_node_name(value)
        except click.UsageError as exc:
            return str(exc)
    return None


def _is_var(value: str) -> bool:
    return "$" in value or "{{" in value


def _parse(words: list[str], sub_short: dict[str, tuple[str, bool]]) -> tuple[list[tuple[str, str | None, str]],
                                                                           list[str]] | Refusal:
    """Words -> ([(key, value, as written)], positionals)."""
    opts: list[tuple[str, str | None, str]] = []
    positionals: list[str] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("-") and word != "-" and not re.match(r"^-\d", word):
            name, eq, inline = word.partition("=")
            if not eq and len(name) > 2 and not name.startswith("--"):
                name, inline, eq = name[:2], name[2:], "="  # -Aproj, -linfo
            spec = sub_short.get(name) or _OPTIONS.get(name)
            if spec is None:
                return Refusal(f"celery option {name} has no mrqc equivalent (unknown to this tool)",
                               "remove the option or convert the command by hand")
            key, takes = spec
            if takes and not eq:
                if i + 1 >= len(words):
                    return Refusal(f"celery option {name} needs a value", "fix the command")
                inline = words[i + 1]
                i += 1
            opts.append((key, inline if takes else None, word))
        else:
            positionals.append(word)
        i += 1
    return opts, positionals


_SUBCOMMANDS = ("worker", "beat", "purge", "control", "result", "call", "inspect", "multi", "events", "flower",
                "status", "shell", "amqp", "graph", "report", "migrate", "upgrade", "list", "logtool")


def _celery(words: list[str]) -> Converted | Refusal:
    first = _parse(words, {})
    if isinstance(first, Refusal):
        sub = next((w for w in words if w in _SUBCOMMANDS), None)
    else:
        sub = first[1][0] if first[1] else None
    if sub is None:
        return first if isinstance(first, Refusal) else Refusal("celery without a subcommand", "convert it by hand")
    if sub in _AS_WRITTEN:
        return _as_written(words, sub)
    if sub in ("inspect", "control", "status", "events"):
        from .commands_remote import remote
        return remote(words, sub)
    handler = {"beat": _beat, "result": _result}.get(sub)
    if handler is None:
        what = {"multi": "celery multi (process management)", "flower": "Flower"}.get(sub, f"`celery {sub}`")
        return Refusal(f"{what} has no mrqc command",
                       "use `mrqc workers`, `mrqc status` or `mrqc jobs`; run workers under your process manager")
    parsed = _parse(words, _SUB_SHORT.get(sub, {}))
    if isinstance(parsed, Refusal):
        return parsed
    opts, positionals = parsed
    positionals = positionals[1:]
    return handler(opts, positionals)


def _common(opts: list[tuple[str, str | None, str]], out: list[str], notes: list[str], handled: set[str]
            ) -> Refusal | None:
    for key, value, written in opts:
        if key == "app":
            out[1:1] = ["-A", value or ""]
        elif key == "broker":
            if value and (value.startswith(("redis://", "rediss://", "unix://")) or _is_var(value)):
                out[1:1] = ["--redis", value]
            else:
                return Refusal(f"broker {value!r} is not Redis", "mrqc runs on Redis: pass --redis redis://...")
        elif key in _DROPPED and key not in handled:
            shown = f"{written} {value}" if value and written in _OPTIONS else written
            notes.append(f"dropped {shown}: {_DROPPED[key]}")
        elif key not in handled:
            return Refusal(f"celery option {written} has no mrqc equivalent",
                           "remove it (see docs/migration.md for what to use instead) or convert by hand")
    return None


def _beat(opts: list[tuple[str, str | None, str]], positionals: list[str]) -> Converted | Refusal:
    out, notes = ["beat"], []
    for key, value, written in opts:
        if key == "loglevel":
            out += ["-l", value or ""]
        elif key == "schedule":
            out += ["-s", value or ""]
        elif key == "max_interval":
            out += ["--max-interval", value or ""]
        elif key == "scheduler_cls":
            return Refusal(f"custom beat scheduler {value!r} is not supported",
                           "put the periodic tasks in beat_schedule (see docs/celery-beat.md)")
    refusal = _common(opts, out, notes, {"loglevel", "schedule", "max_interval", "scheduler_cls"})
    if refusal:
        return refusal
    _check_flags("beat", out)
    return Converted(out + positionals, notes)


def _result(opts: list[tuple[str, str | None, str]], positionals: list[str]) -> Converted | Refusal:
    out, notes = ["result"], []
    refusal = _common(opts, out, notes, {"traceback"})
    if refusal:
        return refusal
    if any(k == "traceback" for k, _, _ in opts):
        out.append("--traceback")
    return Converted(out + positionals, notes)


def _check_flags(command: str, out: list[str]) -> None:
    flags = _mrqc_flags(command)
    wrong = [w for w in out[1:] if w.startswith("-") and w not in flags]
    if flags and wrong:  # a table above that no longer matches mrqc's CLI is this module's bug
        raise RuntimeError(f"mrqc {command} has no option {wrong[0]} (migration table out of date)")


# --- mrq ---------------------------------------------------------------------------------------

_MRQ_RENAMES = {"--gevent": "--greenlets", "--log_level": "--log-level", "--loglevel": "--log-level"}
_MRQ_FLAGS = {"--scheduler", "--burst"}  # MRQ flags that take no value


def _mrq(words: list[str], command: str) -> Converted | Refusal:
    flags = _mrqc_flags(command)
    out, notes = [command], []
    i = 0
    while i < len(words):
        word = words[i]
        if word.startswith("--"):
            name, eq, inline = word.partition("=")
            # as written when mrqc takes it (--max_jobs, --greenlets); else mrqc's spelling
            new = name if name in flags else _MRQ_RENAMES.get(name, name.replace("_", "-"))
            if new not in flags:
                return Refusal(f"MRQ option {name} has no mrqc {command} equivalent",
                               "remove it (MongoDB, dashboard and agent options do not apply) or convert by hand")
            if new in _MRQ_FLAGS:
                out.append(new)
            elif eq:
                out += [new, inline]
            else:
                if i + 1 >= len(words):
                    return Refusal(f"MRQ option {name} needs a value", "fix the command")
                out += [new, words[i + 1]]
                i += 1
            if new != name:
                notes.append(f"{name} -> {new}")
        elif word.startswith("-") and word != "-":
            return Refusal(f"MRQ option {word} has no mrqc {command} equivalent", "convert the command by hand")
        else:
            out.append(word)
        i += 1
    return Converted(out, notes)
