"""The MRQ codemod: ``mrq.*`` imports to ``mrqcore.*``, and ``mrq-config.py`` to ``mrqc_config.py``.

Imports are checked against the real mrqcore modules (``targets.mrq_name``):
a name mrqcore lacks stays on an ``mrq`` import line and is reported.
``import mrq.X`` is rewritten with its ``mrq.X...`` uses (scope analysis, as in
the Celery codemod).

``mrq-config.py``: mrqcore reads MRQ's names (``mrqcore.config_mrq``), so the
new ``mrqc_config.py`` is the same file without the settings that have no
effect or configure an MRQ feature mrqc lacks (MongoDB, dashboard, agent...),
each of which is reported with why and what to do. The old file is kept, so
nothing is lost.
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
    """``mrq-config.py`` -> the ``mrqc_config.py`` module, read through mrqcore's table of MRQ names.

    ``mrqcore.config_mrq`` says what each MRQ name is: the same setting (kept;
    ``LOG_FORMAT``, MRQ's %-format, becomes ``LOG_WORKER_FORMAT``), no effect
    (left out, reported with why), or an MRQ feature mrqc lacks (left out,
    reported with what to do). A name MRQ never had is left out and reported.
    """
    from mrqcore import config_mrq
    from mrqcore.config import SETTINGS
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
        settings = [n for n in names if n.isupper() and not n.startswith("_")]
        dropped = False
        for name in settings:
            key = name.lower()
            line = positions[stmt].start.line
            if key in config_mrq.MRQ_SOURCE_ONLY:
                new = config_mrq.MRQ_SOURCE_ONLY[key].upper()
                stmt = stmt.visit(_Rename(name, new))
                note("changed", line, f"{name} (mrq-config.py)", f"{name} -> {new} (MRQ's {name} is mrqc's {new})",
                     "review mrqc_config.py")
                continue
            if key in SETTINGS or key in ("dequeue_strategy", "subqueues_delimiter"):
                continue  # the latter two are read by value: kept, mrqcore checks them
            try:
                reading = config_mrq.read_mrq_name(key, None, mrq_source=True)
            except KeyError:
                note("left", line, f"{name} (mrq-config.py)", f"MRQ has no setting {name}; mrqc's config holds "
                     "settings only", "move it to a module of yours; left out of mrqc_config.py")
                dropped = True
                continue
            if isinstance(reading, tuple):
                continue
            why = config_mrq.NO_EFFECT.get(key) if reading is None else reading
            note("left", line, f"{name} (mrq-config.py)", f"no effect in mrqc: {why}" if reading is None else why,
                 "left out of mrqc_config.py" if reading is None else "left out of mrqc_config.py; "
                 "decide what replaces it (docs/configuration.md)")
            dropped = True
        if not dropped:
            body.append(stmt)
    return wrapper.module.with_changes(body=body)


class _Rename(cst.CSTTransformer):
    def __init__(self, old: str, new: str) -> None:
        super().__init__()
        self.old, self.new = old, new

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.Name:
        return updated.with_changes(value=self.new) if original.value == self.old else updated
