"""One ``mrqc migrate`` run: find the files, run the codemods, diff or write, report.

``migrate(paths, mode=..., source=...)`` returns the ``Report``; it never
raises for a bad file: a file that cannot be decoded or parsed, or on which a
codemod raises, gets an ``error`` finding, is left untouched (never half
written) and is sent to Sentry when a DSN is given (``migration.sentry``).
Bad arguments (a path that does not exist, a mode or source not known) raise
``MigrationInputError`` (exit code 2).

Files looked at (folders are walked, skipping VCS, virtualenv, cache and build
folders):

=====================================================  =====================================
file                                                    what is converted
=====================================================  =====================================
``*.py``                                                Celery and MRQ imports, settings, task
                                                        options... (``pycelery``, ``pymrq``)
``mrq-config.py``                                       -> new ``mrqc_config.py`` beside it
``*.sh``, ``*.bash``, ``Procfile*``, ``*.service``,     shell command lines
``Makefile``, supervisor ``*.conf``/``*.ini``
``Dockerfile*``, ``*.dockerfile``                       shell form and ``["celery", ...]`` form
``*.yml``, ``*.yaml`` (compose, Kubernetes)             ``command:``/``args:``/``entrypoint:``
``pytest.ini``, ``setup.cfg``, ``tox.ini``,              ``-p celery.contrib.pytest``
``pyproject.toml``
=====================================================  =====================================
"""
from __future__ import annotations

import difflib
import os
import re
from pathlib import Path
from typing import Callable, Iterable, TextIO

import libcst as cst

from mrqcore.exceptions import MrqcError

from .cmdfiles import TextRewriter
from .pycelery import CeleryTransformer
from .pymrq import MrqTransformer, mrq_config
from .report import Finding, Report
from .sentry import SentryReporter

MODES = ("diff", "write", "check")
SOURCES = ("auto", "celery", "mrq")
_SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "env", "node_modules", "__pycache__", ".tox", ".nox",
              "site-packages", "build", "dist", ".mrqc", ".mypy_cache", ".pytest_cache", ".eggs"}


class MigrationInputError(MrqcError):
    """Bad arguments to ``mrqc migrate`` (exit code 2)."""


def migrate(paths: Iterable[str | os.PathLike[str]], mode: str = "diff", source: str = "auto",
            sentry_dsn: str | None = None, out: TextIO | None = None, root: str | None = None) -> Report:
    """Convert the files under ``paths``: ``mode`` "diff" prints a unified diff to ``out`` and writes
    nothing, "write" rewrites files in place, "check" writes nothing and prints nothing.

    ``source``: "celery", "mrq" or "auto" (both). File names in the report are
    relative to ``root`` (default: the current directory) when below it.
    """
    if mode not in MODES:
        raise MigrationInputError(f"unknown mode {mode!r} (expected one of {', '.join(MODES)})")
    if source not in SOURCES:
        raise MigrationInputError(f"unknown --from {source!r} (expected one of {', '.join(SOURCES)})")
    paths = [Path(p) for p in paths]
    if not paths:
        raise MigrationInputError("no PATH given")
    for path in paths:
        if not path.exists():
            raise MigrationInputError(f"{path}: no such file or folder")
    files = sorted({f.resolve(): f for f in _walk(paths)}.values())
    report = Report(source=source, mode=mode)
    sentry = SentryReporter(sentry_dsn)
    context = _ProjectContext(files)
    base = Path(root or os.getcwd()).resolve()
    try:
        for path in files:
            _one_file(path, _display(path, base), report, context, source, mode, sentry, out)
    finally:
        sentry.close()
    return report


def _display(path: Path, base: Path) -> str:
    try:
        return os.path.relpath(os.path.abspath(path), base) if os.path.abspath(path).startswith(str(base) + os.sep) else str(path)
    except ValueError:
        return str(path)


def _walk(paths: list[Path]) -> Iterable[Path]:
    for path in paths:
        if path.is_file():
            yield path
            continue
        for folder, dirs, names in os.walk(path):
            dirs[:] = sorted(d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info"))
            for name in sorted(names):
                candidate = Path(folder) / name
                if kind_of(candidate):
                    yield candidate


def kind_of(path: Path) -> str | None:
    """Which converter reads this file: "python", "mrq-config", "shell", "docker", "yaml", or None."""
    name = path.name
    if name == "mrq-config.py":
        return "mrq-config"
    if name.endswith(".py"):
        return "python"
    if name.startswith("Dockerfile") or name.endswith((".dockerfile", ".Dockerfile")):
        return "docker"
    if name.endswith((".yml", ".yaml")):
        return "yaml"
    if name.startswith("Procfile") or name.endswith((".sh", ".bash", ".service")) or name in ("Makefile",):
        return "shell"
    if name in _PYTEST_CONFIGS:
        return "pytest-config"
    if name.endswith((".conf", ".ini")):
        try:
            return "shell" if "[program:" in path.read_text(errors="replace") else None
        except OSError:
            return None
    return None


_PYTEST_CONFIGS = ("pytest.ini", "setup.cfg", "tox.ini", "pyproject.toml")
_PYTEST_PLUGIN = re.compile(r"(?<![\w.])celery\.contrib\.pytest\b")


class _ProjectContext:
    """What the whole project tells about each file: the settings modules and their style."""

    def __init__(self, files: list[Path]) -> None:
        self.namespace = False
        self.config_modules: dict[str, bool] = {}  # module -> read with namespace="CELERY"
        for path in files:
            if path.suffix != ".py":
                continue
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError):
                continue
            for match in re.finditer(r"config_from_object\(\s*['\"]([\w.:]+)['\"]([^)]*)\)", text):
                namespaced = bool(re.search(r"namespace\s*=\s*['\"]CELERY['\"]", match.group(2)))
                self.namespace = self.namespace or namespaced
                if ":" not in match.group(1):
                    self.config_modules[match.group(1)] = namespaced

    def settings_style(self, path: Path, text: str) -> str | None:
        dotted = ".".join(path.with_suffix("").parts)
        for module, namespaced in self.config_modules.items():
            if dotted == module or dotted.endswith("." + module):
                return "namespace" if namespaced else "plain"
        if path.stem in ("celeryconfig", "celery_config"):
            return "plain"
        if path.name == "settings.py" or path.parent.name == "settings":
            if re.search(r"^(CELERY|BROKER_)\w*\s*=", text, re.M):
                return "namespace" if self.namespace else "django"
        return None


def _one_file(path: Path, shown: str, report: Report, context: _ProjectContext, source: str, mode: str,
              sentry: SentryReporter, out: TextIO | None) -> None:
    report.files_scanned += 1
    findings: list[Finding] = []

    def note(kind: str, line: int, construct: str, reason: str, action: str) -> None:
        findings.append(Finding(kind, shown, line, construct, reason, action))

    kind = kind_of(path)
    construct = f"{kind} file"
    try:
        raw = path.read_bytes()
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _FileError("not UTF-8 text", exc.start) from exc
        new_text, extra = _convert(path, kind, text, context, source, note)
    except _FileError as exc:
        report.add(Finding("error", shown, exc.line, construct, exc.reason,
                           "fix the file (or convert it by hand), then run mrqc migrate again"))
        sentry.capture(exc.__cause__ or exc, shown, construct, exc.line)
        return
    except Exception as exc:  # noqa: BLE001 - a codemod bug: report it, leave the file, go on
        report.add(Finding("error", shown, 1, construct, f"the migration tool failed: {type(exc).__name__}: {exc}",
                           "convert this file by hand and report the failure"))
        sentry.capture(exc, shown, construct, 1)
        return
    for finding in findings:
        report.add(finding)
    changes = [(path, text, new_text)] + extra
    for target, old, new in changes:
        if old == new:
            continue
        shown_target = shown if target == path else str(Path(shown).parent / target.name)
        report.files_changed.append(shown_target)
        if mode == "diff" and out is not None:
            out.writelines(difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True),
                                                f"a/{shown_target}", f"b/{shown_target}"))
        if mode == "write":
            tmp = target.with_name(f".{target.name}.mrqc-migrate.tmp")
            tmp.write_text(new, encoding="utf-8")
            if target.exists():
                os.chmod(tmp, target.stat().st_mode & 0o7777)
            os.replace(tmp, target)


class _FileError(Exception):
    def __init__(self, reason: str, line: int) -> None:
        super().__init__(reason)
        self.reason, self.line = reason, line


def _convert(path: Path, kind: str | None, text: str, context: _ProjectContext, source: str,
             note: Callable[[str, int, str, str, str], None]) -> tuple[str, list[tuple[Path, str, str]]]:
    """The file's new text, and other files to create ([(path, old text, new text)])."""
    if kind in ("python", "mrq-config"):
        try:
            module = cst.parse_module(text)
        except cst.ParserSyntaxError as exc:
            raise _FileError(f"Python syntax error: {exc.message}", _syntax_error_line(text, exc.raw_line)) from exc
        extra: list[tuple[Path, str, str]] = []
        style = context.settings_style(path, text)
        if source in ("auto", "celery") and (style or re.search(r"\b(celery|mrqc)\b|CELERY|BROKER_|\.conf\b", text)):
            module = cst.MetadataWrapper(module).visit(CeleryTransformer(note, style))
        if source in ("auto", "mrq") and re.search(r"\bmrq\b", text):
            module = cst.MetadataWrapper(module).visit(MrqTransformer(note))
        if kind == "mrq-config" and source in ("auto", "mrq"):
            new_config = path.with_name("mrqc_config.py")
            config = mrq_config(module, note).code
            if not new_config.exists():
                note("changed", 1, "mrq-config.py", "settings copied to mrqc_config.py (mrqcore reads the same "
                     "names); mrq-config.py is kept", "review mrqc_config.py, then delete mrq-config.py")
                extra.append((new_config, "", config))
            return text, extra
        return module.code, extra
    if kind == "pytest-config":
        if source == "mrq":
            return text, []
        for match in _PYTEST_PLUGIN.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            note("changed", line, text.splitlines()[line - 1].strip(), "the pytest plugin is mrqc.contrib.pytest",
                 "review the diff")
        return _PYTEST_PLUGIN.sub("mrqc.contrib.pytest", text), []
    programs = {"auto": ("celery", "mrq-worker", "mrq-run"), "celery": ("celery",), "mrq": ("mrq-worker", "mrq-run")}
    rewriter = TextRewriter(text, note, programs[source])
    if kind in ("shell", "docker"):
        rewriter.shell()
    if kind in ("docker", "yaml"):
        rewriter.lists(yaml=kind == "yaml")
    if kind == "yaml":
        _yaml_inline_commands(rewriter)
    return rewriter.result(), []


def _syntax_error_line(text: str, fallback: int) -> int:
    """The line Python itself reports for the error (the one users know), else libcst's."""
    import ast
    try:
        ast.parse(text)
    except SyntaxError as exc:
        return exc.lineno or fallback
    return fallback


def _yaml_inline_commands(rewriter: TextRewriter) -> None:
    """``command: celery -A proj worker`` (a plain or quoted YAML string) in compose/Kubernetes files."""
    for match in re.finditer(r"^[ \t]*(?:- )?(?:command|entrypoint|args):[ \t]*(?P<value>[^\[\n][^\n]*)$",
                             rewriter.text, re.M):
        start, end = match.start("value"), match.end("value")
        value = match.group("value").rstrip()
        if value[:1] in "'\"" and value[-1:] == value[:1]:
            start, end = start + 1, start + len(value) - 1
        elif value in (">", "|", ">-", "|-"):
            continue
        rewriter.shell(start, end)
