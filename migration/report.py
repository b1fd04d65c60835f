"""What a migration run did and what it left: ``Finding`` and ``Report``.

Every change the tool makes and every construct it leaves is one ``Finding``
with the file, the 1-based line, the construct (the code or command as
written), the reason, and the action the user must take. ``Report.to_json``
is the ``--report FILE.json`` document; ``Report.summary`` is the same in
words (printed on stderr). ``Report.exit_code`` is the command's exit code.

Kinds:

===========  ==============================================================
``changed``  converted by the tool (action: "review the diff")
``left``     left untouched: manual work remains (exit code 3)
``error``    the tool could not handle the file (unparsable, or a codemod
             raised): the file is left whole and untouched (exit code 2)
===========  ==============================================================
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

#: exit codes of ``mrqc migrate``
EXIT_OK, EXIT_BAD_INPUT, EXIT_MANUAL = 0, 2, 3


@dataclass(frozen=True)
class Finding:
    """One change made or one construct left, where it is, why, and what to do."""

    kind: str  # "changed" | "left" | "error"
    file: str
    line: int
    construct: str
    reason: str
    action: str

    def as_text(self) -> str:
        return f"{self.file}:{self.line}: [{self.kind}] {self.construct}: {self.reason} -> {self.action}"


@dataclass
class Report:
    """All findings of one run, and the files it changed (or would change)."""

    source: str = "auto"
    mode: str = "diff"
    findings: list[Finding] = field(default_factory=list)
    files_changed: list[str] = field(default_factory=list)
    files_scanned: int = 0

    def add(self, finding: Finding) -> None:
        if finding not in self.findings:  # one construct seen through two imports is one finding
            self.findings.append(finding)

    def of_kind(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    @property
    def exit_code(self) -> int:
        """2 if a file could not be handled, else 3 if manual work remains, else 0."""
        if self.of_kind("error"):
            return EXIT_BAD_INPUT
        if self.of_kind("left"):
            return EXIT_MANUAL
        return EXIT_OK

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "mode": self.mode, "exit_code": self.exit_code,
                "files_scanned": self.files_scanned, "files_changed": sorted(self.files_changed),
                "changes": [asdict(f) for f in self.of_kind("changed")],
                "left": [asdict(f) for f in self.of_kind("left")],
                "errors": [asdict(f) for f in self.of_kind("error")]}

    def write_json(self, path: str) -> None:
        with open(path, "w", encoding="utf-8") as out:
            json.dump(self.to_json(), out, indent=2)
            out.write("\n")

    def summary(self) -> str:
        """The report in words: counts, then each construct left and each error, one a line."""
        changed, left, errors = self.of_kind("changed"), self.of_kind("left"), self.of_kind("error")
        verb = "changed" if self.mode == "write" else "to change"
        lines = [f"mrqc migrate: {self.files_scanned} files scanned, {len(self.files_changed)} files {verb}, "
                 f"{len(changed)} changes, {len(left)} constructs left for you, {len(errors)} files not handled"]
        if left:
            lines.append("Left for you (not converted):")
            lines += ["  " + f.as_text() for f in left]
        if errors:
            lines.append("Not handled (file left untouched):")
            lines += ["  " + f.as_text() for f in errors]
        return "\n".join(lines)
