"""Command lines inside text files: shell scripts, Procfiles, Dockerfiles, compose files,
Kubernetes manifests, systemd units, supervisor configs.

Only the command itself is edited (the words from ``celery`` to the end of
that command); everything else in the file stays byte for byte. Forms found:

* shell words: ``celery -A proj worker ...`` in a script line, a Procfile
  entry, ``RUN``/``CMD`` shell form, ``ExecStart=/venv/bin/celery ...``,
  ``command=celery ...``, ``command: celery ...``, and inside a quoted string
  such as ``sh -c "celery ..."``;
* lists: ``CMD ["celery", "-A", ...]``, ``command: ["celery", ...]``, YAML
  block lists (``- celery``), and Kubernetes' split ``command: [celery]`` +
  ``args: [...]``.

A command counts only where ``celery`` is followed by an option or a Celery
subcommand (so ``pip install celery`` or ``image: celery`` are not commands).
"""
from __future__ import annotations

import json
import re
import shlex
from dataclasses import dataclass
from typing import Callable

from .commands import Converted, convert, program_of
from .commands import _SUBCOMMANDS as CELERY_SUBCOMMANDS
from .targets import Refusal

Note = Callable[[str, int, str, str, str], None]


@dataclass
class Word:
    value: str
    start: int
    end: int


_END = re.compile(r"(\|\||&&|[;|&)`]|\n)")
_NOT_A_RUN = {"install", "uninstall", "add", "remove", "show", "freeze", "download", "echo", "which", "pip", "pip3"}


def _shell_words(text: str, start: int, end: int) -> list[list[Word]]:
    """Split text[start:end] into command segments of words (quotes removed in .value)."""
    segments: list[list[Word]] = [[]]
    i = start
    while i < end:
        ch = text[i]
        if ch == "\\" and i + 1 < end and text[i + 1] == "\n":
            i += 2
            continue
        if ch in " \t\r":
            i += 1
            continue
        if ch == "#" and (i == start or text[i - 1] in " \t\n"):
            while i < end and text[i] != "\n":
                i += 1
            continue
        match = _END.match(text, i)
        if match or ch in "<>":
            segments.append([])
            i = match.end() if match else i + 1
            if not match:  # a redirection: skip its target word too
                while i < end and text[i] in "<>&0123456789 ":
                    i += 1
                while i < end and text[i] not in " \t\n;|&":
                    i += 1
            continue
        begin, value = i, []
        while i < end and text[i] not in " \t\r\n;|&<>`)":
            if text[i] == "\\" and i + 1 < end:
                if text[i + 1] == "\n":
                    break
                value.append(text[i + 1])
                i += 2
            elif text[i] in "'\"":
                quote, i = text[i], i + 1
                while i < end and text[i] != quote:
                    if quote == '"' and text[i] == "\\" and i + 1 < end:
                        i += 1
                    value.append(text[i])
                    i += 1
                i += 1
            else:
                value.append(text[i])
                i += 1
        segments[-1].append(Word("".join(value), begin, min(i, end)))
    return [s for s in segments if s]


def _split_prefix(word: str) -> tuple[str, str]:
    """``ExecStart=/bin/celery`` -> (``ExecStart=``, ``/bin/celery``); other words -> ("", word)."""
    match = re.match(r"^([A-Za-z_][A-Za-z0-9_]*=)(.*)$", word)
    return (match.group(1), match.group(2)) if match else ("", word)


def _looks_like_run(argv: list[str]) -> bool:
    if len(argv) < 2:
        return False
    if program_of(argv[0]) != "celery" and not (len(argv) > 3 and argv[1:3] == ["-m", "celery"]):
        return True  # mrq-worker / mrq-run are unambiguous names
    rest = argv[3:] if argv[1:3] == ["-m", "celery"] else argv[1:]
    return bool(rest) and (rest[0].startswith("-") or rest[0] in CELERY_SUBCOMMANDS)


def _render_shell(argv: list[str], old: list[Word], text: str) -> str:
    raw = {w.value: text[w.start:w.end] for w in old}
    return " ".join(raw.get(a) or (a if re.fullmatch(r"[\w@%+=:,./${}-]+", a) else shlex.quote(a)) for a in argv)


class TextRewriter:
    """Collect edits (start, end, new text) for one file, reporting through ``note``."""

    def __init__(self, text: str, note: Note, programs: tuple[str, ...] = ("celery", "mrq-worker", "mrq-run")) -> None:
        self.text = text
        self.programs = programs
        self.note = note
        self.edits: list[tuple[int, int, str]] = []

    def line(self, offset: int) -> int:
        return self.text.count("\n", 0, offset) + 1

    def result(self) -> str:
        out = self.text
        for start, end, new in sorted(self.edits, reverse=True):
            out = out[:start] + new + out[end:]
        return out

    def _apply(self, argv: list[str], start: int, construct: str, render: Callable[[list[str]], str],
               end: int) -> None:
        if not self._allowed(argv):
            return
        converted = convert(argv)
        if isinstance(converted, Refusal):
            self.note("left", self.line(start), construct, converted.reason, converted.action)
            return
        new = render(converted.argv)
        self.note("changed", self.line(start), construct,
                  "-> " + " ".join(converted.argv) + ("; " + "; ".join(converted.notes) if converted.notes else ""),
                  "review the diff")
        self.edits.append((start, end, new))

    def _allowed(self, argv: list[str]) -> bool:
        program = program_of(argv[0]) or ("celery" if argv[1:3] == ["-m", "celery"] else None)
        return program in self.programs

    # --- shell form ------------------------------------------------------------------------------
    def shell(self, start: int = 0, end: int | None = None) -> None:
        end = len(self.text) if end is None else end
        for words in _shell_words(self.text, start, end):
            self._shell_segment(words)

    def _shell_segment(self, words: list[Word]) -> None:
        for i, word in enumerate(words):
            raw = self.text[word.start:word.end]
            if raw[:1] in "'\"" and raw[-1:] == raw[:1] and len(raw) > 2 and " " in raw:
                self.shell(word.start + 1, word.end - 1)  # sh -c "celery ..."
                continue
            prefix, program = _split_prefix(word.value)
            python_m = program.startswith("python") and [w.value for w in words[i + 1:i + 3]] == ["-m", "celery"]
            if not (program_of(program) or python_m):
                continue
            if any(w.value in _NOT_A_RUN for w in words[:i]):
                return
            argv = [program] + [w.value for w in words[i + 1:]]
            if not _looks_like_run(argv):
                continue
            begin = word.start + len(prefix) if raw.startswith(prefix) else word.start
            cmd_end = words[-1].end
            construct = " ".join(self.text[begin:cmd_end].split())
            self._apply(argv, begin, construct, lambda new, old=words[i:]: _render_shell(new, old, self.text),
                        cmd_end)
            return

    # --- list forms ------------------------------------------------------------------------------
    def flow_lists(self, keys: tuple[str, ...] | None = None) -> list[tuple[str | None, int, int, list[str], str]]:
        """Single-line ``[...]`` lists of strings: (key, start, end, items, quote style)."""
        found = []
        for match in re.finditer(r"^(?P<lead>[^\n\[]*?)(?P<list>\[[^\[\]\n]*\])[ \t]*(#.*)?$", self.text, re.M):
            lead = match.group("lead")
            key_match = re.search(r"([A-Za-z_-]+)\s*:\s*$", lead)
            key = key_match.group(1) if key_match else None
            if keys is not None and key not in keys:
                continue
            items, style = _parse_list(match.group("list"))
            if items is None:
                continue
            found.append((key, match.start("list"), match.end("list"), items, style))
        return found

    def block_lists(self) -> list[tuple[str | None, int, int, list[str], str]]:
        """YAML block lists under ``command:``/``args:``: (key, start, end, items, indent)."""
        found = []
        for match in re.finditer(r"^(?P<kind>[ \t]*)(?:- )?(?P<key>command|args|entrypoint):[ \t]*\n"
                                 r"(?P<items>(?:(?P<indent>[ \t]*)- [^\n]*\n?)+)", self.text, re.M):
            items_text = match.group("items")
            indent = match.group("indent")
            lines = [ln for ln in items_text.splitlines() if ln.startswith(indent + "- ")]
            if len(lines) != len(items_text.splitlines()):
                continue
            items = [_scalar(ln[len(indent) + 2:]) for ln in lines]
            end = match.end("items") - (1 if items_text.endswith("\n") else 0)
            found.append((match.group("key"), match.start("items"), end, items, indent))
        return found

    def lists(self, yaml: bool) -> None:
        flows = self.flow_lists(("command", "args", "entrypoint") if yaml else None)
        if not yaml:
            flows = [f for f in flows if re.match(r"^\s*(CMD|ENTRYPOINT|RUN)\b|.*:\s*$",
                                                  self.text[self.text.rfind("\n", 0, f[1]) + 1:f[1]])]
        blocks = self.block_lists() if yaml else []
        entries = sorted([(s, e, key, items, ("flow", style)) for key, s, e, items, style in flows] +
                         [(s, e, key, items, ("block", indent)) for key, s, e, items, indent in blocks])
        used: set[int] = set()
        for n, (start, end, key, items, style) in enumerate(entries):
            if n in used or not items:
                continue
            index = next((i for i, item in enumerate(items) if program_of(item)
                          or (item.startswith("python") and items[i + 1:i + 3] == ["-m", "celery"])), None)
            if index is None:
                continue
            argv = items[index:]
            construct = self.text[start:end].strip()
            if len(argv) == 1 or (argv[1:] == ["-m", "celery"]):
                pair = next((m for m in range(n + 1, len(entries)) if entries[m][2] == "args"), None)
                if key in ("command", "entrypoint") and pair is not None and yaml:
                    used.add(pair)
                    self._apply_pair(entries[n], entries[pair], index)
                    continue
                self.note("left", self.line(start), construct, "the celery command's arguments are elsewhere "
                          "(ENTRYPOINT + CMD?)", "write the whole mrqc command in one place")
                continue
            if not _looks_like_run(argv):
                continue
            self._apply(argv, start, " ".join(construct.split()),
                        lambda new, items=items, index=index, style=style: _render_list(items[:index] + new, style),
                        end)

    def _apply_pair(self, command: tuple, args: tuple, index: int) -> None:
        c_start, c_end, _, c_items, c_style = command
        a_start, a_end, _, a_items, a_style = args
        argv = c_items[index:] + a_items
        if not self._allowed(argv):
            return
        converted = convert(argv)
        construct = " ".join((self.text[c_start:c_end] + " " + self.text[a_start:a_end]).split())
        if isinstance(converted, Refusal):
            self.note("left", self.line(c_start), construct, converted.reason, converted.action)
            return
        self.note("changed", self.line(c_start), construct, "-> " + " ".join(converted.argv), "review the diff")
        self.edits.append((c_start, c_end, _render_list(c_items[:index] + converted.argv[:1], c_style)))
        self.edits.append((a_start, a_end, _render_list(converted.argv[1:], a_style)))


def _scalar(text: str) -> str:
    text = re.sub(r"\s+#.*$", "", text).strip()
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        try:
            return json.loads(text) if text[0] == '"' else text[1:-1].replace("''", "'")
        except ValueError:
            return text[1:-1]
    return text


def _parse_list(text: str) -> tuple[list[str] | None, str]:
    inner = text[1:-1].strip()
    if not inner:
        return None, ""
    try:
        items = json.loads(text)
        if all(isinstance(i, str) for i in items):
            return items, '"'
    except ValueError:
        pass
    parts = [p.strip() for p in re.findall(r"""\s*('(?:[^']|'')*'|"(?:[^"\\]|\\.)*"|[^,]+)""", inner)]
    parts = [p for p in parts if p and p != ","]
    style = "'" if parts and parts[0].startswith("'") else "bare"
    return [_scalar(p) for p in parts], style


def _render_list(items: list[str], style: tuple[str, str]) -> str:
    kind, detail = style
    if kind == "block":
        return "\n".join(f"{detail}- {_yaml_scalar(i)}" for i in items)
    if detail == '"':
        return "[" + ", ".join(json.dumps(i) for i in items) + "]"
    if detail == "'":
        return "[" + ", ".join("'" + i.replace("'", "''") + "'" for i in items) + "]"
    return "[" + ", ".join(_yaml_scalar(i, flow=True) for i in items) + "]"


def _yaml_scalar(item: str, flow: bool = False) -> str:
    if flow and any(c in item for c in ",[]{}"):  # flow indicators: `a,b` would read as two items
        return json.dumps(item)
    if re.fullmatch(r"[A-Za-z0-9_./@%+=-][A-Za-z0-9_./@%+=:,-]*", item) and not item.startswith("-"):
        return item
    if re.fullmatch(r"-[A-Za-z0-9_-]+(=[A-Za-z0-9_./-]*)?", item):
        return item
    return json.dumps(item)
