"""Run Celery's integration suite on real Celery and on mrqc, in the same run, and compare.

Each side is one ``pytest`` subprocess over its own copy of the suite (see
``sdist.py``), with its own ``redis-server`` on a free loopback port as both
broker and result backend (``TEST_BROKER``/``TEST_BACKEND``, and
``REDIS_HOST``/``REDIS_PORT`` for the suite's own Redis client), so neither
side touches the shared Redis on 6379 or RabbitMQ:

* ``celery``: the files as shipped; the suite's ``conftest.py`` starts its
  session worker through ``celery.contrib.pytest`` (a real Celery worker,
  prefork pool, in the test process, as in Celery's own CI);
* ``mrqc``: the files with their celery imports pointed at mrqc; the same
  ``conftest.py`` starts its session worker through ``mrqc.contrib.pytest``,
  which for the suite's ``prefork`` pool runs a real ``mrqc worker -A``
  process (see docs/celery-testing.md).

The tests run in ``shards`` per side (runs of consecutive test ids, each a
pytest process with its own redis-server and session worker), ``jobs`` shards
at a time, the sides interleaved; ``--serial`` runs one at a time. Outcomes come from each
shard's JUnit XML.
"""
from __future__ import annotations

import dataclasses
import fnmatch
import os
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Iterable, Sequence

from tests.redis_server import RedisServer

from . import sdist

HERE = Path(__file__).resolve().parent
KNOWN_DIFFERENCES = HERE / "known_differences.txt"
SIDES = ("celery", "mrqc")


@dataclasses.dataclass
class Outcome:
    """One test's result on one side: ``passed``, ``failed``, ``error``, ``skipped`` or ``missing``."""

    outcome: str
    message: str = ""


@dataclasses.dataclass
class SideRun:
    side: str
    outcomes: dict[str, Outcome]
    seconds: float
    returncode: int
    log: Path


def test_id(classname: str, name: str) -> str:
    """``test_canvas.py::test_chain::test_simple_chain`` from JUnit's classname and name."""
    parts = classname.split(".")
    # classname: t.integration.test_canvas[.test_class]
    index = next((i for i, p in enumerate(parts) if p in ("test_tasks", "test_canvas")), len(parts) - 1)
    return "::".join([parts[index] + ".py", *parts[index + 1:], name])


def parse_junit(path: Path) -> dict[str, Outcome]:
    """Test id -> Outcome from a JUnit XML file (a missing file yields nothing)."""
    if not path.exists():
        return {}
    outcomes: dict[str, Outcome] = {}
    for case in ET.parse(path).getroot().iter("testcase"):
        tid = test_id(case.get("classname", ""), case.get("name", ""))
        outcome, message = "passed", ""
        for child in case:
            if child.tag in ("failure", "error", "skipped"):
                outcome = {"failure": "failed", "error": "error", "skipped": "skipped"}[child.tag]
                message = (child.get("message") or (child.text or "")).strip()
                if outcome != "passed" and tid in outcomes and outcomes[tid].outcome == "passed" \
                        and child.tag == "error":
                    outcome = "error"  # a teardown error after a pass
                break
        previous = outcomes.get(tid)
        if previous is not None and previous.outcome != "passed":
            continue  # a teardown record never hides the call's failure
        outcomes[tid] = Outcome(outcome, _one_line(message, 2000))  # whole for the reasons' patterns
    return outcomes


def _one_line(message: str, width: int = 160) -> str:
    line = " ".join(message.split())
    return line if len(line) <= width else line[: width - 1] + "…"


def side_env(side: str, server: RedisServer) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MRQC_", "CELERY_"))}
    url = f"redis://127.0.0.1:{server.port}/0"
    env.update({
        "TEST_BROKER": url, "TEST_BACKEND": url,
        "REDIS_HOST": "127.0.0.1", "REDIS_PORT": str(server.port),
        "PYTHONPATH": os.pathsep.join([str(sdist.ROOT)] + [p for p in [env.get("PYTHONPATH")] if p]),
        "PYTHONDONTWRITEBYTECODE": "1",
    })
    if side == "mrqc":
        env["MRQC_REDIS"] = url
    return env


#: shards per side by default: the collected tests are cut into this many runs of consecutive ids, so the tests
#: that wait out their timeouts on one side do not hold the others up
DEFAULT_SHARDS = 6


@dataclasses.dataclass
class Shard:
    side: str
    index: int
    targets: list[str]
    workdir: Path
    server: RedisServer | None = None
    proc: subprocess.Popen | None = None
    started: float = 0.0

    @property
    def junit(self) -> Path:
        return self.workdir / f"{self.side}-{self.index}.xml"

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.side}-{self.index}.log"

    def start(self, sdist_dir: Path, select: str | None) -> None:
        """Start this shard's redis-server and pytest (over its own copy of the suite)."""
        tree = sdist.build_tree(sdist_dir, self.workdir / f"{self.side}-{self.index}", self.side)
        self.server = RedisServer(tempfile.mkdtemp(prefix=f"conformance-{self.side}-")).start()
        command = [sys.executable, "-m", "pytest", *self.targets, "-p", "tests.conformance.pytest_plugin",
                   # Celery's CI loads Celery's fixtures plugin through pytest-celery's entry point; here each
                   # side loads its own (mrqc declares no entry point, see docs/celery-testing.md)
                   "-p", "celery.contrib.pytest" if self.side == "celery" else "mrqc.contrib.pytest",
                   "-p", "no:cacheprovider", "-v", "-rN", "--junitxml", str(self.junit),
                   "-o", "junit_family=xunit1", "--rootdir", str(tree)]
        if select:
            command += ["-k", select]
        self.started = time.monotonic()
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(command, cwd=tree, env=side_env(self.side, self.server), stdout=log,
                                         stderr=subprocess.STDOUT)

    def done(self) -> bool:
        return self.proc is not None and self.proc.poll() is not None

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        if self.server is not None:
            self.server.stop()
            self.server = None


def collect(sdist_dir: Path, workdir: Path, select: str | None = None) -> list[str]:
    """The suite's test ids (``t/integration/...::...``), as pytest collects them (on Celery's files)."""
    tree = sdist.build_tree(sdist_dir, workdir / "collect", "celery")
    command = [sys.executable, "-m", "pytest", *sdist.TEST_FILES, "--collect-only", "-q", "-p", "no:cacheprovider",
               "-p", "celery.contrib.pytest", "--rootdir", str(tree)]
    if select:
        command += ["-k", select]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(sdist.ROOT)] + [p for p in [os.environ.get("PYTHONPATH")]
                                                                            if p]))
    done = subprocess.run(command, cwd=tree, env=env, capture_output=True, text=True)
    ids = [line.strip() for line in done.stdout.splitlines() if line.startswith("t/integration/") and "::" in line]
    if not ids and done.returncode not in (0, 5):
        raise RuntimeError(f"collecting Celery's suite failed:\n{done.stdout[-3000:]}{done.stderr[-2000:]}")
    return ids


def plan(sides: Iterable[str], tests: Sequence[str], workdir: Path, shards: int, sdist_dir: Path,
         select: str | None = None) -> list[Shard]:
    """The shards to run: the given tests (or the whole scope) cut into ``shards`` runs of consecutive ids."""
    if tests:
        ids = [f"t/integration/{t}" if not t.startswith("t/") else t for t in tests]
    else:
        ids = collect(sdist_dir, workdir, select)
    count = max(1, min(shards, len(ids)))
    size = -(-len(ids) // count) if ids else 0
    groups = [ids[i:i + size] for i in range(0, len(ids), size)] if ids else []
    return [Shard(side, i, group, workdir) for side in sides for i, group in enumerate(groups)]


def run(select: str | None = None, sides: Iterable[str] = SIDES, serial: bool = False,
        tests: Sequence[str] = (), workdir: Path | None = None, shards: int = DEFAULT_SHARDS,
        jobs: int = DEFAULT_SHARDS) -> dict[str, SideRun]:
    """Run the chosen sides' shards, ``jobs`` at a time (1 with ``serial``), and return each side's outcomes."""
    sdist_dir = sdist.fetch_sdist()
    # each run in a folder of its own, so runs can go on side by side
    workdir = workdir or sdist.CACHE / "runs" / f"{time.strftime('%Y%m%d-%H%M%S')}-{os.getpid()}"
    workdir.mkdir(parents=True, exist_ok=True)
    sides = list(sides)
    pending = plan(sides, tests, workdir, shards, sdist_dir, select)
    # interleave the sides so both progress at once
    pending.sort(key=lambda shard: (shard.index, sides.index(shard.side)))
    running: list[Shard] = []
    finished: list[Shard] = []
    limit = 1 if serial else max(1, jobs)
    started = time.monotonic()
    try:
        while pending or running:
            while pending and len(running) < limit:
                shard = pending.pop(0)
                shard.start(sdist_dir, select)
                running.append(shard)
            time.sleep(0.5)
            for shard in [r for r in running if r.done()]:
                shard.stop()
                running.remove(shard)
                finished.append(shard)
    finally:
        for shard in running:
            shard.stop()
    elapsed = time.monotonic() - started
    results: dict[str, SideRun] = {}
    for side in sides:
        outcomes: dict[str, Outcome] = {}
        codes = []
        for shard in (f for f in finished if f.side == side):
            outcomes.update(parse_junit(shard.junit))
            codes.append(shard.proc.returncode if shard.proc else -1)
        logs = [f.log for f in finished if f.side == side]
        results[side] = SideRun(side, outcomes, elapsed, max(codes, default=-1), logs[0] if logs else workdir)
    return results


def load_run(workdir: Path, seconds: dict[str, float] | None = None) -> dict[str, SideRun]:
    """The outcomes of a finished run from its folder's JUnit files (``celery-N.xml``, ``mrqc-N.xml``)."""
    results: dict[str, SideRun] = {}
    for side in SIDES:
        files = sorted(workdir.glob(f"{side}-*.xml"))
        if files:
            outcomes: dict[str, Outcome] = {}
            for path in files:
                outcomes.update(parse_junit(path))
            results[side] = SideRun(side, outcomes, (seconds or {}).get(side, 0.0), 0, files[0])
    return results


# --- the table ----------------------------------------------------------------------------


def known_differences(path: Path = KNOWN_DIFFERENCES) -> list[tuple[str, str]]:
    """``(pattern, reason)`` lines of known_differences.txt (``pattern | reason``, split at the first `` | ``; ``#`` comments; a pattern
    starting with ``~`` is a regular expression searched in the failure message)."""
    entries = []
    if path.exists():
        for line in path.read_text().splitlines():
            line = line.strip()
            if line and not line.startswith("#") and " | " in line:
                pattern, reason = line.split(" | ", 1)
                entries.append((pattern.strip(), reason.strip()))
    return entries


def reason_for(tid: str, message: str, known: list[tuple[str, str]]) -> str:
    """The first known reason whose pattern matches: ``~regex`` searches the failure message, anything else
    is an fnmatch pattern over the test id; else the failure message itself."""
    for pattern, reason in known:
        if pattern.startswith("~"):
            if message and re.search(pattern[1:], message):
                return f"{reason} [{_one_line(message, 90)}]"
        elif fnmatch.fnmatchcase(tid, pattern):
            return reason
    return message


def table_rows(results: dict[str, SideRun]) -> list[tuple[str, str, str, str]]:
    celery = results.get("celery")
    mrqc = results.get("mrqc")
    ids = sorted(set(celery.outcomes if celery else ()) | set(mrqc.outcomes if mrqc else ()))
    known = known_differences()
    rows = []
    for tid in ids:
        c = celery.outcomes.get(tid, Outcome("missing")) if celery else Outcome("not run")
        m = mrqc.outcomes.get(tid, Outcome("missing")) if mrqc else Outcome("not run")
        reason = ""
        if c.outcome != m.outcome or m.outcome not in ("passed",):
            reason = reason_for(tid, m.message if m.outcome != "passed" else c.message, known)
        rows.append((tid, c.outcome, m.outcome, reason))
    return rows


def summary(results: dict[str, SideRun]) -> dict[str, object]:
    """Counts: tests, passes on each side, mrqc passes among Celery's passes, and the rate."""
    rows = table_rows(results)
    celery_pass = [r for r in rows if r[1] == "passed"]
    mrqc_pass = [r for r in rows if r[2] == "passed"]
    both = [r for r in celery_pass if r[2] == "passed"]
    return {
        "tests": len(rows),
        "celery_passed": len(celery_pass),
        "mrqc_passed": len(mrqc_pass),
        "mrqc_passed_of_celery": len(both),
        "rate": (len(both) / len(celery_pass)) if celery_pass else 0.0,
        "seconds": {side: round(run.seconds, 1) for side, run in results.items()},
    }


def render_table(results: dict[str, SideRun], markdown: bool = True) -> str:
    rows = table_rows(results)
    s = summary(results)
    lines = []
    if markdown:
        lines += ["| test | Celery | mrqc | reason |", "|---|---|---|---|"]
        lines += [f"| `{tid}` | {c} | {m} | {_one_line(reason, 220).replace('|', '/')} |"
                  for tid, c, m, reason in rows]
    else:
        width = max([len(r[0]) for r in rows] + [4])
        lines.append(f"{'test':<{width}}  {'Celery':<8}  {'mrqc':<8}  reason")
        lines += [f"{tid:<{width}}  {c:<8}  {m:<8}  {_one_line(reason, 160)}" for tid, c, m, reason in rows]
    lines.append("")
    lines.append(summary_line(s))
    return "\n".join(lines) + "\n"


def summary_line(s: dict[str, object]) -> str:
    return (f"Celery passes {s['celery_passed']}/{s['tests']}; mrqc passes {s['mrqc_passed']}/{s['tests']}, "
            f"{s['mrqc_passed_of_celery']} of Celery's {s['celery_passed']} "
            f"(rate {100 * float(s['rate']):.1f}%); run time (s): {s['seconds']}")


def reason_counts(results: dict[str, SideRun]) -> list[tuple[str, int]]:
    """How many of Celery's passes mrqc does not pass, per reason (a known reason, else the message)."""
    counts: dict[str, int] = {}
    for _tid, c, m, reason in table_rows(results):
        if c == "passed" and m != "passed":
            key = reason.split(" [", 1)[0] if reason.startswith(("gap:", "deliberate:", "fixed")) else \
                f"unexplained: {_one_line(reason, 160)}"
            counts[key] = counts.get(key, 0) + 1
    return sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))


def render_report(results: dict[str, SideRun]) -> str:
    """The Markdown page ``--report`` writes (docs/celery-conformance.md): how it was made, the rates, the table."""
    s = summary(results)
    head = [
        "# Celery's integration suite on Celery and on mrqc: the per-test table",
        "",
        f"Generated by `scripts/conformance.sh --report docs/celery-conformance.md` on "
        f"{time.strftime('%Y-%m-%d')} from Celery {sdist.celery_version()}'s sdist "
        "(`t/integration/test_tasks.py` and `test_canvas.py`, with `tasks.py` and `conftest.py`). How it runs, "
        "the shims, and why each difference exists: [celery-compat.md](celery-compat.md#conformance-with-celerys-integration-suite).",
        "",
        f"**{summary_line(s)}**",
        "",
        "Outcomes: `passed`, `failed`, `error` (a fixture failed), `skipped` (the test skipped itself, "
        "e.g. it needs a backend or broker neither side runs here). The reason column gives, for a test whose "
        "mrqc outcome differs or is not a pass, the reason from `tests/conformance/known_differences.txt`, "
        "else the first line of mrqc's failure.",
        "",
    ]
    head += ["## Celery's passes that mrqc does not pass, by reason", "",
             "| tests | reason |", "|---|---|"]
    head += [f"| {n} | {reason.replace('|', '/')} |" for reason, n in reason_counts(results)]
    head += ["", "## Every test", "", ""]
    return "\n".join(head) + render_table(results)
