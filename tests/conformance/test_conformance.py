"""The default test run's share of the conformance runner (the whole run is ``scripts/conformance.sh``).

* the import shim changes only import lines;
* a fixed subset of Celery's integration tests (``subset.txt``: ids that pass
  on mrqc, a little of each area, about a minute) runs on mrqc against a real
  ``mrqc worker -A`` and a redis-server of its own; any of them not passing is
  a regression. Celery's side is not run here (it is the full run's job).

Needs Celery's sdist from the package index (cached in ``.conformance/``); a
machine that cannot reach it skips, CI fails.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.conformance import runner, sdist

HERE = Path(__file__).resolve().parent
SUBSET = HERE / "subset.txt"


def subset_ids() -> list[str]:
    return [line.strip() for line in SUBSET.read_text().splitlines()
            if line.strip() and not line.startswith("#")]


def test_shim_rewrites_only_celery_imports() -> None:
    source = ("import celery\nfrom celery import chain, group\n    from celery.canvas import signature\n"
              "import celeryx\nfrom celery_helpers import x\nx = 'from celery import y'\n")
    assert sdist.rewrite_imports(source) == (
        "import mrqc as celery\nfrom mrqc import chain, group\n    from mrqc.canvas import signature\n"
        "import celeryx\nfrom celery_helpers import x\nx = 'from celery import y'\n")


def test_junit_ids_and_table(tmp_path: Path) -> None:
    junit = tmp_path / "r.xml"
    junit.write_text(
        '<testsuites><testsuite>'
        '<testcase classname="t.integration.test_canvas.test_chain" name="test_simple_chain"/>'
        '<testcase classname="t.integration.test_tasks.test_tasks" name="test_fail">'
        '<failure message="AssertionError: boom">tb</failure></testcase>'
        '</testsuite></testsuites>')
    outcomes = runner.parse_junit(junit)
    assert outcomes["test_canvas.py::test_chain::test_simple_chain"].outcome == "passed"
    assert outcomes["test_tasks.py::test_tasks::test_fail"] == runner.Outcome("failed", "AssertionError: boom")
    results = {"celery": runner.SideRun("celery", {k: runner.Outcome("passed") for k in outcomes}, 1.0, 0, junit),
               "mrqc": runner.SideRun("mrqc", outcomes, 1.0, 1, junit)}
    summary = runner.summary(results)
    assert (summary["celery_passed"], summary["mrqc_passed_of_celery"], summary["rate"]) == (2, 1, 0.5)


def test_subset_passes_on_mrqc(tmp_path: Path) -> None:
    try:
        sdist.fetch_sdist()
    except RuntimeError as exc:
        from tests.conftest import require_service
        require_service("Celery's sdist (pip download)", str(exc))
    ids = subset_ids()
    results = runner.run(sides=["mrqc"], tests=ids, workdir=tmp_path, shards=2, jobs=2)
    outcomes = results["mrqc"].outcomes
    regressed = {tid: outcomes.get(tid, runner.Outcome("missing")) for tid in ids
                 if outcomes.get(tid, runner.Outcome("missing")).outcome != "passed"}
    log = results["mrqc"].log.read_text(errors="replace")[-4000:]
    assert not regressed, "Celery integration tests that pass on mrqc no longer do:\n" + "\n".join(
        f"  {tid}: {o.outcome} {o.message}" for tid, o in regressed.items()) + f"\n--- pytest output ---\n{log}"
