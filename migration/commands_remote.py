"""Celery's remote-control command lines (``inspect``, ``control``, ``status``, ``events``) for ``commands``.

Kept as written when ``mrqc`` serves them: the verbs and their arguments are
checked against ``mrqc.cli_control``'s own tables (``INSPECT_COMMANDS``,
``CONTROL_COMMANDS``: what ``mrqc inspect``/``mrqc control`` take), so the tool
and the CLI never disagree. ``celery status`` becomes ``mrqc inspect ping``
(Celery's status is that ping, with the same output and exit code);
``celery events`` becomes ``mrqc events`` (the ``--dump`` form).
"""
from __future__ import annotations

from typing import Any

from .commands import _SUB_SHORT, Converted, _as_written, _is_var, _parse
from .targets import Refusal


def remote(words: list[str], sub: str) -> Converted | Refusal:
    """``celery`` + ``words`` (``sub`` is inspect, control, status or events) -> mrqc's words, or why not."""
    return _events(words) if sub == "events" else _remote(words, sub)


def _remote(words: list[str], sub: str) -> Converted | Refusal:
    """``celery inspect|control VERB ...`` kept as written when mrqc serves VERB; ``status`` is ``inspect ping``.

    The verbs and their arguments are checked against ``mrqc.cli_control``'s
    own tables (the commands ``mrqc inspect``/``mrqc control`` take).
    """
    from mrqc.cli_control import CONTROL_COMMANDS, INSPECT_COMMANDS
    parsed = _parse(words, _SUB_SHORT[sub])
    if isinstance(parsed, Refusal):
        # an option this tool does not know: still name an unserved verb first (the bigger problem)
        after = words[words.index(sub) + 1:] if sub in words else []
        verb = next((word for word in after if not word.startswith("-")), None)
        served_verbs = {"inspect": INSPECT_COMMANDS, "control": CONTROL_COMMANDS}.get(sub, {})
        if served_verbs and verb and not _is_var(verb) and verb not in served_verbs:
            return _unserved(sub, verb, served_verbs)
        return parsed
    opts, positionals = parsed
    rest = positionals[positionals.index(sub) + 1:]
    if sub == "status":
        if rest:
            return Refusal(f"celery status takes no arguments, got {' '.join(rest)!r}", "fix the command")
        result = _as_written(words, sub, ["inspect", "ping"])
        if isinstance(result, Converted):
            result.notes.insert(0, "celery status -> mrqc inspect ping (the same ping: `N nodes online.`, "
                                   "exit 69 when no worker replies)")
        return _destination_note(result, opts)
    served: dict[str, Any] = {"inspect": {name: {arg: str for arg in args} for name, args in INSPECT_COMMANDS.items()},
                              "control": {name: dict(args) for name, args in CONTROL_COMMANDS.items()}}[sub]
    if not rest:
        return Refusal(f"celery {sub} without a command", f"name one: {', '.join(sorted(served))}")
    verb, args = rest[0], rest[1:]
    if _is_var(verb):
        return Refusal(f"celery {sub} {verb}: the command is a variable, so it cannot be checked",
                       f"write one of {', '.join(sorted(served))}, or convert by hand")
    if verb not in served:
        return _unserved(sub, verb, served)
    if not any(_is_var(arg) for arg in args):
        import click

        from mrqc.cli_control import _arguments
        try:
            _arguments(verb, served[verb], tuple(args))
        except click.UsageError as exc:
            return Refusal(f"celery {sub} {' '.join(rest)}: {exc.message}", "fix the command")
    return _destination_note(_as_written(words, sub), opts)


def _unserved(sub: str, verb: str, served: dict[str, Any]) -> Refusal:
    return Refusal(f"celery {sub} {verb} is not served by mrqc (mrqc {sub} serves {', '.join(sorted(served))})",
                   "drop it, or use one of those (see docs/remote-control.md)")


def _destination_note(result: Converted | Refusal, opts: list[tuple[str, str | None, str]]) -> Converted | Refusal:
    """A ``-d celery@...`` destination names Celery's default node name, which mrqc workers lack unless told."""
    if isinstance(result, Converted) and any(key == "destination" and value and "celery@" in value
                                             for key, value, _ in opts):
        result.notes.append("-d names celery@<host>: a mrqc worker has that name only when started with "
                            "-n celery@%h (its default name is <host>.<pid>)")
    return result


def _events(words: list[str]) -> Converted | Refusal:
    """``celery events [--dump]`` -> ``mrqc events`` (always the dump form); a snapshot camera is reported."""
    parsed = _parse(words, _SUB_SHORT["events"])
    if isinstance(parsed, Refusal):
        return parsed
    opts = parsed[0]
    camera = next((value for key, value, _ in opts if key == "camera"), None)
    if camera is not None:
        return Refusal(f"celery events --camera {camera} (event snapshots) has no mrqc counterpart",
                       "read job records instead: `mrqc jobs`, `mrqc status` or `mrqc dashboard`")
    result = _as_written(words, "events")
    if isinstance(result, Converted) and not any(key == "dump" for key, _, _ in opts):
        result.notes.append("celery events (the curses monitor) -> mrqc events, which prints one line per event "
                            "as celery events --dump")
    return result
