"""The Celery codemod for one Python module (libcst, so formatting and comments survive).

What it converts:

* ``from celery[.X] import a, b as c`` -> ``from mrqc[.Y] import ...`` (each name
  checked against the real mrqc module; names mrqc lacks stay on a
  ``from celery...`` line of their own and are reported);
* ``import celery[.X] [as y]`` -> ``import mrqc[.X]`` and every ``celery.attr``
  use bound to that import (found through libcst's scope analysis, so a local
  variable named ``celery`` is not touched). If one use has no mrqc
  counterpart, the import and all its uses are left and that use is reported;
* ``"celery.contrib.pytest"`` (``pytest_plugins``) -> ``"mrqc.contrib.pytest"``;
* deprecated setting names in ``app.conf.update(...)``, ``app.conf.X = ...``
  and in settings modules (``settings_style``, see ``migration.settings``).

What it reports and leaves (read from compat's own tables, see ``targets``):
task options compat refuses, Task methods compat refuses (``self.replace``),
``app.control`` calls compat does not serve (``pool_restart``, ``election``,
``inspect().memdump()``, ``broadcast("heartbeat")``...), bootsteps (``app.steps``),
refused settings, and every Celery internal import.
Relative imports (``from .celery import app``) are never touched.
"""
from __future__ import annotations

from typing import Any, Callable, Iterator, Sequence

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import ParentNodeProvider, PositionProvider, ScopeProvider

from . import settings as settings_rules
from .targets import Refusal, broadcast_commands, celery_attribute, celery_module, celery_name, control_methods, \
    inspect_methods, setting_problem, task_option_problem, unsupported_task_methods

Note = Callable[[str, int, str, str, str], None]  # kind, line, construct, reason, action
_CONTROL_ACTION = ("drop the call, or use a command mrqc serves (docs/remote-control.md: inspect(), ping, revoke, "
                   "rate_limit, time_limit, pool_grow/pool_shrink, autoscale, add_consumer, shutdown...)")
_EMPTY = cst.Module(body=[])


def import_root_names(scope: Any, node: cst.Import, root: str, module: str) -> Iterator[cst.Name]:
    """The ``root`` names (``celery``, ``mrq``) through which code uses what ``node`` imports.

    libcst files the uses of ``import celery.x`` under "celery.x" and those of
    ``import celery`` under "celery": both are read. Each use is followed down its
    attribute chain (``celery.app.task`` -> ``celery``) to the name itself.
    """
    assignments = list(scope.assignments[root]) + (list(scope.assignments[module]) if module != root else [])
    for assignment in assignments:
        if getattr(assignment, "node", None) is not node:
            continue
        for access in assignment.references:
            name = access.node
            while isinstance(name, cst.Attribute):
                name = name.value
            if isinstance(name, cst.Name) and name.value == root:
                yield name


def code_of(node: cst.CSTNode, limit: int = 160) -> str:
    """The node's source on one line, shortened for a report."""
    text = " ".join(_EMPTY.code_for_node(node).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _dotted(name: str) -> cst.BaseExpression:
    return cst.parse_expression(name)


def _is_celery(module: str | None) -> bool:
    return module is not None and (module == "celery" or module.startswith("celery."))


class CeleryTransformer(cst.CSTTransformer):
    """Rewrite one module; every change and every refusal goes to ``note``."""

    METADATA_DEPENDENCIES = (PositionProvider, ScopeProvider, ParentNodeProvider)

    def __init__(self, note: Note, settings_style: str | None = None) -> None:
        super().__init__()
        self.note = note
        self.settings_style = settings_style
        self._rename_refs: set[cst.Name] = set()
        self._keep_import: set[int] = set()  # ids of `import celery` nodes left because a use has no mrqc twin
        self._refused_methods = unsupported_task_methods()
        self._control = control_methods()
        self._inspect = inspect_methods()
        self._broadcast = broadcast_commands()
        self._bound_depth = 0
        self._scope_depth = 0

    # --- helpers ---------------------------------------------------------------------------------
    def line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def changed(self, node: cst.CSTNode, construct: str, reason: str) -> None:
        self.note("changed", self.line(node), construct, reason, "review the diff")

    def left(self, node: cst.CSTNode, refusal: Refusal, construct: str | None = None) -> None:
        self.note("left", self.line(node), construct or code_of(node), refusal.reason, refusal.action)

    # --- from celery import ... ------------------------------------------------------------------
    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom
                         ) -> cst.ImportFrom | cst.FlattenSentinel[cst.BaseSmallStatement]:
        if updated.relative or updated.module is None:
            return updated
        module = get_full_name_for_node(updated.module)
        if not _is_celery(module):
            return updated
        if isinstance(updated.names, cst.ImportStar):
            target = celery_module(module)
            if isinstance(target, Refusal):
                self.left(original, target)
                return updated
            self.changed(original, code_of(original), f"{module} -> {target}")
            return updated.with_changes(module=_dotted(target))
        groups: dict[str, list[cst.ImportAlias]] = {}
        kept: list[cst.ImportAlias] = []
        for alias in updated.names:
            name = get_full_name_for_node(alias.name) or ""
            target = celery_name(module, name)
            if isinstance(target, Refusal):
                self.left(original, target, f"from {module} import {name}")
                kept.append(alias)
            else:
                groups.setdefault(target, []).append(alias)
        if not groups:
            return updated
        self.changed(original, code_of(original), ", ".join(f"{module} -> {t}" for t in groups))
        if len(groups) == 1 and not kept:
            return updated.with_changes(module=_dotted(next(iter(groups))))
        parts: list[cst.BaseSmallStatement] = [
            cst.ImportFrom(module=_dotted(target), names=_clean(aliases)) for target, aliases in groups.items()]
        if kept:
            parts.append(cst.ImportFrom(module=updated.module, names=_clean(kept)))
        return cst.FlattenSentinel(parts)

    def leave_SimpleStatementLine(self, original: cst.SimpleStatementLine, updated: cst.SimpleStatementLine
                                  ) -> cst.SimpleStatementLine | cst.FlattenSentinel[cst.SimpleStatementLine]:
        if len(updated.body) <= len(original.body):
            return updated
        lines = []
        for i, stmt in enumerate(updated.body):
            stmt = stmt.with_changes(semicolon=cst.MaybeSentinel.DEFAULT)
            last = i == len(updated.body) - 1
            lines.append(updated.with_changes(
                body=[stmt], leading_lines=updated.leading_lines if i == 0 else (),
                trailing_whitespace=updated.trailing_whitespace if last else cst.TrailingWhitespace()))
        return cst.FlattenSentinel(lines)

    # --- import celery[.x] [as y] ----------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> None:
        for alias in node.names:
            module = get_full_name_for_node(alias.name)
            if not _is_celery(module) or alias.asname is not None:
                continue
            refs, refused = self._references_of(node, module or "celery")
            if refused:
                for ref_node, refusal, dotted in refused:
                    self.left(ref_node, refusal, dotted)
                self._keep_import.add(id(node))
            else:
                self._rename_refs.update(refs)

    def _references_of(self, node: cst.Import, module: str
                       ) -> tuple[list[cst.Name], list[tuple[cst.CSTNode, Refusal, str]]]:
        scope = self.get_metadata(ScopeProvider, node)
        refs: list[cst.Name] = []
        refused: list[tuple[cst.CSTNode, Refusal, str]] = []
        for name in import_root_names(scope, node, "celery", module):
            top = name
            parent = self.get_metadata(ParentNodeProvider, top)
            while isinstance(parent, cst.Attribute) and parent.value is top:
                top = parent
                parent = self.get_metadata(ParentNodeProvider, top)
            dotted = get_full_name_for_node(top) or "celery"
            target = celery_attribute(dotted) if dotted != "celery" else "mrqc"
            if isinstance(target, Refusal):
                refused.append((top, target, dotted))
            elif target != "mrqc" + dotted[len("celery"):]:
                refused.append((top, Refusal(f"{dotted} lives at {target} in mrqc",
                                             f"import it: from {target.rsplit('.', 1)[0]} import "
                                             f"{target.rsplit('.', 1)[1]}"), dotted))
            else:
                refs.append(name)
        return refs, refused

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.Import:
        if id(original) in self._keep_import:
            return updated
        names = []
        for alias in updated.names:
            module = get_full_name_for_node(alias.name)
            if _is_celery(module):
                target = celery_module(module)
                if isinstance(target, Refusal):
                    self.left(original, target, f"import {module}")
                elif alias.asname is None and target != "mrqc" + module[len("celery"):]:
                    self.left(original, Refusal(f"{module} lives at {target} in mrqc",
                                                f"write `import {target} as ...` and update its uses"))
                else:
                    self.changed(original, f"import {module}", f"{module} -> {target}")
                    alias = alias.with_changes(name=_dotted(target))
            names.append(alias)
        return updated.with_changes(names=names)

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        if original in self._rename_refs:
            return updated.with_changes(value="mrqc")
        return updated

    # --- strings: pytest_plugins -----------------------------------------------------------------
    def leave_SimpleString(self, original: cst.SimpleString, updated: cst.SimpleString) -> cst.SimpleString:
        value = original.evaluated_value
        if isinstance(value, str) and value == "celery.contrib.pytest":
            self.changed(original, original.value, "the pytest plugin is mrqc.contrib.pytest")
            return updated.with_changes(value=original.value.replace("celery.contrib.pytest", "mrqc.contrib.pytest"))
        return updated

    # --- task declarations, bound tasks, control, bootsteps ---------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self._scope_depth += 1
        if any(_is_bound_task_decorator(d.decorator) for d in node.decorators):
            self._bound_depth += 1

    def leave_FunctionDef(self, original: cst.FunctionDef, updated: cst.FunctionDef) -> cst.FunctionDef:
        self._scope_depth -= 1
        if any(_is_bound_task_decorator(d.decorator) for d in original.decorators):
            self._bound_depth -= 1
        return updated

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self._scope_depth += 1
        is_task = any((get_full_name_for_node(b.value) or "").split(".")[-1] == "Task" for b in node.bases)
        if is_task:
            self._bound_depth += 1
            for stmt in node.body.body:
                if isinstance(stmt, cst.SimpleStatementLine):
                    for small in stmt.body:
                        if isinstance(small, cst.Assign) and len(small.targets) == 1 \
                                and isinstance(small.targets[0].target, cst.Name):
                            option = small.targets[0].target.value
                            from mrqc.task import restricted_task_options
                            if option in restricted_task_options():
                                problem = task_option_problem(option, code_of(small.value, 10_000))
                                if problem:
                                    self.left(small, problem)

    def leave_ClassDef(self, original: cst.ClassDef, updated: cst.ClassDef) -> cst.ClassDef:
        self._scope_depth -= 1
        if any((get_full_name_for_node(b.value) or "").split(".")[-1] == "Task" for b in original.bases):
            self._bound_depth -= 1
        return updated

    def visit_Call(self, node: cst.Call) -> None:
        func = get_full_name_for_node(node.func) or ""
        last = func.split(".")[-1]
        if last in ("task", "shared_task") and func not in ("task",):
            for arg in node.args:
                if arg.keyword is not None:
                    problem = task_option_problem(arg.keyword.value, code_of(arg.value, 10_000))
                    if problem:
                        self.left(arg, problem, f"{func}({code_of(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT))})")
        if isinstance(node.func, cst.Attribute):
            attr = node.func.attr.value
            if attr in self._refused_methods and self._bound_depth and \
                    get_full_name_for_node(node.func.value) == "self":
                self.left(node, Refusal(self._refused_methods[attr],
                                        "build the whole canvas before sending it, or queue the new work "
                                        "and return its id"))
            if attr == "update" and func.endswith(".conf.update"):
                self._check_conf_update(node)
            if attr == "broadcast" and isinstance(node.func.value, cst.Attribute) \
                    and node.func.value.attr.value == "control":
                self._check_broadcast(node)
        if last == "Celery":
            for arg in node.args:
                key = {"broker": "broker_url", "backend": "result_backend"}.get(arg.keyword.value if arg.keyword else "")
                if key:
                    problem = setting_problem(key, code_of(arg.value, 10_000))
                    if problem:
                        self.left(arg, problem, f"Celery({code_of(arg.with_changes(comma=cst.MaybeSentinel.DEFAULT))})")

    def visit_Attribute(self, node: cst.Attribute) -> None:
        inner = node.value
        name = node.attr.value
        if isinstance(inner, cst.Attribute) and inner.attr.value == "control" \
                and name not in self._control and not name.startswith("_"):
            self.left(node, Refusal(f"app.control.{name}() is not served by mrqc's remote control",
                                    _CONTROL_ACTION))
        if isinstance(inner, cst.Call) and isinstance(inner.func, cst.Attribute) \
                and inner.func.attr.value == "inspect" and isinstance(inner.func.value, cst.Attribute) \
                and inner.func.value.attr.value == "control" \
                and name not in self._inspect and not name.startswith("_"):
            self.left(node, Refusal(f"app.control.inspect().{name}() is not served by mrqc's remote control "
                                    f"(it serves {', '.join(sorted(self._inspect))})", _CONTROL_ACTION))
        if node.attr.value == "steps" and isinstance(self.get_metadata(ParentNodeProvider, node), cst.Subscript):
            self.left(node, Refusal("bootsteps extend Celery's worker, which mrqc does not run",
                                    "move the step's work into a worker service or middleware"))

    def _check_broadcast(self, node: cst.Call) -> None:
        """``app.control.broadcast("name", ...)`` with a literal name mrqc's workers do not answer."""
        arg = next((a for a in node.args if a.keyword is None or a.keyword.value == "command"), None)
        if arg is None or not isinstance(arg.value, cst.SimpleString):
            return
        command = arg.value.evaluated_value
        if isinstance(command, str) and command not in self._broadcast:
            self.left(node, Refusal(f"app.control.broadcast({command!r}): mrqc workers do not serve {command!r}",
                                    _CONTROL_ACTION))

    # --- settings --------------------------------------------------------------------------------
    def _check_conf_update(self, node: cst.Call) -> None:
        for arg in node.args:
            if arg.keyword is not None:
                self._check_setting(arg, arg.keyword.value, arg.value)
            elif isinstance(arg.value, cst.Dict):
                for element in arg.value.elements:
                    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
                        key = element.key.evaluated_value
                        if isinstance(key, str):
                            self._check_setting(element, key, element.value)

    def _check_setting(self, node: cst.CSTNode, name: str, value: cst.BaseExpression) -> None:
        problem = setting_problem(name, code_of(value, 100_000))
        if problem:
            self.left(node, problem, f"{name} = {code_of(value)}")

    def leave_Arg(self, original: cst.Arg, updated: cst.Arg) -> cst.Arg:
        if original.keyword is None:
            return updated
        parent = self.get_metadata(ParentNodeProvider, original)
        func = get_full_name_for_node(parent.func) if isinstance(parent, cst.Call) else None
        if func and func.endswith(".conf.update"):
            new = settings_rules.new_name(original.keyword.value, "lower")
            if new and new != original.keyword.value:
                self.changed(original, original.keyword.value, f"deprecated setting name -> {new}")
                return updated.with_changes(keyword=cst.Name(new))
        return updated

    def leave_Assign(self, original: cst.Assign, updated: cst.Assign) -> cst.Assign:
        if len(original.targets) != 1:
            return updated
        target = original.targets[0].target
        if isinstance(target, cst.Attribute) and isinstance(target.value, cst.Attribute) \
                and target.value.attr.value == "conf":
            name = target.attr.value
            self._check_setting(original, name, original.value)
            new = settings_rules.new_name(name, "lower")
            if new and new != name:
                self.changed(original, name, f"deprecated setting name -> {new}")
                return updated.with_changes(targets=[updated.targets[0].with_changes(
                    target=updated.targets[0].target.with_changes(attr=cst.Name(new)))])
        if isinstance(target, cst.Name) and self.settings_style and self._scope_depth == 0:
            return self._module_setting(original, updated, target.value)
        return updated

    def _module_setting(self, original: cst.Assign, updated: cst.Assign, name: str) -> cst.Assign:
        style = self.settings_style or ""
        checked = settings_rules.setting_name(name, style)
        if checked is None:
            return updated
        self._check_setting(original, checked, original.value)
        new = settings_rules.new_name(name, style)
        if new and new != name:
            self.changed(original, name, f"deprecated setting name -> {new} (as `celery upgrade settings` does)")
            return updated.with_changes(targets=[updated.targets[0].with_changes(target=cst.Name(new))])
        return updated


def _clean(aliases: Sequence[cst.ImportAlias]) -> list[cst.ImportAlias]:
    return [a.with_changes(comma=cst.MaybeSentinel.DEFAULT) for a in aliases]


def _is_bound_task_decorator(decorator: cst.BaseExpression) -> bool:
    if not isinstance(decorator, cst.Call):
        return False
    name = (get_full_name_for_node(decorator.func) or "").split(".")[-1]
    return name in ("task", "shared_task") and any(
        a.keyword is not None and a.keyword.value == "bind" and get_full_name_for_node(a.value) == "True"
        for a in decorator.args)
