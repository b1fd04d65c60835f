"""The MRQ codemod: ``mrq.*`` imports to ``mrqcore.*``, and ``mrq-config.py`` to ``mrqc_config.py``.

Imports are checked against the real mrqcore modules (``targets.mrq_name``):
a name mrqcore lacks stays on an ``mrq`` import line and is reported.
``import mrq.X`` is rewritten with its ``mrq.X...`` uses (scope analysis, as in
the Celery codemod).

``mrq-config.py``: its upper-case settings are read by mrqcore under the same
names (MRQ's long names are aliases, see ``mrqcore.config.ALIASES``), so the
new ``mrqc_config.py`` is the same file without the settings mrqcore does not
know (MongoDB, dashboard, agent...), each of which is reported. The old file
is kept, so nothing is lost.
"""
from __future__ import annotations

import libcst as cst
from libcst.helpers import get_full_name_for_node
from libcst.metadata import PositionProvider, ScopeProvider

from .pycelery import Note, code_of, import_root_names
from .targets import Refusal, mrq_name


def _is_mrq(module: str | None) -> bool:
    return module is not None and (module == "mrq" or module.startswith("mrq."))


class MrqTransformer(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider, ScopeProvider)

    def __init__(self, note: Note) -> None:
        super().__init__()
        self.note = note
        self._rename: set[cst.Name] = set()

    def line(self, node: cst.CSTNode) -> int:
        return self.get_metadata(PositionProvider, node).start.line

    def leave_ImportFrom(self, original: cst.ImportFrom, updated: cst.ImportFrom) -> cst.BaseSmallStatement:
        if updated.relative or updated.module is None:
            return updated
        module = get_full_name_for_node(updated.module)
        if not _is_mrq(module):
            return updated
        names = [None] if isinstance(updated.names, cst.ImportStar) else \
            [get_full_name_for_node(a.name) for a in updated.names]
        targets = {mrq_name(module, n) for n in names}
        refusals = [t for t in targets if isinstance(t, Refusal)]
        if refusals or len(targets) != 1:
            for refusal in refusals:
                self.note("left", self.line(original), code_of(original), refusal.reason, refusal.action)
            return updated
        target = next(iter(targets))
        self.note("changed", self.line(original), code_of(original), f"{module} -> {target}", "review the diff")
        return updated.with_changes(module=cst.parse_expression(str(target)))

    def visit_Import(self, node: cst.Import) -> None:
        scope = self.get_metadata(ScopeProvider, node)
        for alias in node.names:
            module = get_full_name_for_node(alias.name) or ""
            if _is_mrq(module) and alias.asname is None:
                self._rename.update(import_root_names(scope, node, "mrq", module))

    def leave_Import(self, original: cst.Import, updated: cst.Import) -> cst.Import:
        names = []
        for alias in updated.names:
            module = get_full_name_for_node(alias.name)
            if _is_mrq(module):
                target = mrq_name(module, None)
                if isinstance(target, Refusal):
                    self.note("left", self.line(original), f"import {module}", target.reason, target.action)
                else:
                    self.note("changed", self.line(original), f"import {module}", f"{module} -> {target}",
                              "review the diff")
                    alias = alias.with_changes(name=cst.parse_expression(target))
            names.append(alias)
        return updated.with_changes(names=names)

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        return updated.with_changes(value="mrqcore") if original in self._rename else updated


def mrq_config(module: cst.Module, note: Note) -> cst.Module:
    """``mrq-config.py`` -> the ``mrqc_config.py`` module: unknown settings removed (each reported)."""
    from mrqcore.config import ALIASES, SETTINGS
    wrapper = cst.MetadataWrapper(module)
    positions = wrapper.resolve(PositionProvider)
    body = []
    for stmt in wrapper.module.body:
        names = []
        if isinstance(stmt, cst.SimpleStatementLine):
            for small in stmt.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)):
                    targets = small.targets if isinstance(small, cst.Assign) else [small]
                    names += [t.target.value for t in targets if isinstance(t.target, cst.Name)]
        unknown = [n for n in names if n.isupper() and not n.startswith("_")
                   and ALIASES.get(n.lower(), n.lower()) not in SETTINGS]
        if unknown:
            for name in unknown:
                note("left", positions[stmt].start.line, f"{name} (mrq-config.py)",
                     f"mrqcore has no setting {name} (MongoDB, dashboard and agent settings do not apply)",
                     "left out of mrqc_config.py; decide what replaces it (see docs/configuration.md)")
            continue
        body.append(stmt)
    return wrapper.module.with_changes(body=body)
