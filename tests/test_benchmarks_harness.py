"""The benchmark harness (``python -m benchmarks``) runs end to end in quick mode.

This checks the harness, not performance: no timing is asserted. It runs mrqc and the cheapest peer
importable in this interpreter (none need be: the peers live in ``benchmarks/.venv``, which this test
neither needs nor creates), with every workload, into a temporary folder, under a key prefix of its
own in the benchmark database. Then it checks the JSON's shape, the ratio and verdict fields, the
markdown, and that no key of the run is left behind.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
import redis as redis_lib

ROOT = Path(__file__).resolve().parents[1]
# Cheapest worker start first; RQ last because its key names are fixed (not under our prefix).
PEER_PREFERENCE = (("huey", "huey"), ("dramatiq", "dramatiq"), ("celery", "celery"), ("rq", "rq"))
WORKLOADS = {"enqueue", "drain", "latency", "io", "raw", "memory"}
BENCH_DB = 13


def _bench_url(redis_url: str) -> str:
    parts = urlsplit(redis_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{BENCH_DB}", "", ""))


@pytest.fixture(scope="module")
def harness_run(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    if not redis_url.startswith("redis://"):
        from tests.conftest import require_service
        require_service("Redis over TCP", "the benchmark harness and its peers need redis://, not the embedded socket")
    peer = next((system for system, module in PEER_PREFERENCE if importlib.util.find_spec(module)), None)
    systems = ["mrqc"] + ([peer] if peer else [])
    out_dir = tmp_path_factory.mktemp("bench-results")
    prefix = f"benchtest-{uuid.uuid4().hex[:8]}:"
    env = dict(os.environ, BENCH_REDIS_URL=_bench_url(redis_url), BENCH_KEY_PREFIX=prefix)
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--python", sys.executable,
         "--peers", ",".join(systems), "--out-dir", str(out_dir)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=280, check=False)
    assert done.returncode == 0, f"harness failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    [json_path] = out_dir.glob("quick-*.json")
    return {"doc": json.loads(json_path.read_text()), "markdown": json_path.with_suffix(".md").read_text(),
            "stdout": done.stdout, "systems": systems, "peer": peer, "prefix": prefix,
            "bench_url": env["BENCH_REDIS_URL"], "out_dir": out_dir}


@pytest.mark.timeout(300)
def test_every_workload_has_rows_for_each_system(harness_run: dict) -> None:
    doc = harness_run["doc"]
    assert set(doc["workloads"]) == WORKLOADS
    for workload in ("enqueue", "drain", "latency", "io"):
        ran = {row["system"] for row in doc["workloads"][workload]}
        assert ran == set(harness_run["systems"]), workload
    assert {row["system"] for row in doc["workloads"]["raw"]} == {"mrqc"}
    assert {row["system"] for row in doc["workloads"]["memory"]} == {"mrqc"}
    for rows in doc["workloads"].values():
        for row in rows:
            assert {"system", "config"} <= set(row)
            if not (row.get("error") or row.get("skipped") or row.get("unavailable")):
                assert row["n"] > 0


@pytest.mark.timeout(300)
def test_mrqc_rows_are_measured(harness_run: dict) -> None:
    rows = harness_run["doc"]["workloads"]
    by_mode = {row["mode"]: row for row in rows["enqueue"] if row["system"] == "mrqc"}
    assert set(by_mode) == {"single", "bulk"}
    fields = {"enqueue": ("rate", "seconds"), "drain": ("rate", "seconds"),
              "latency": ("p50_ms", "p99_ms", "mean_ms"), "memory": ("rss_before_mb", "rss_after_mb", "growth")}
    for workload, names in fields.items():
        for row in (r for r in rows[workload] if r["system"] == "mrqc"):
            assert not row.get("error"), f"{workload}: {row['error']}"
            for name in names:
                assert isinstance(row[name], float), (workload, name)
    [io] = [r for r in rows["io"] if r["system"] == "mrqc"]
    assert not io.get("error"), io.get("error")
    assert io["ideal_seconds"] > 0 and io["concurrency"] > 0 and "efficiency" in io
    [raw] = rows["raw"]
    # Raw queues may not exist yet: then the row says why instead of failing the run.
    assert "rate" in raw or raw.get("unavailable") or raw.get("error")


@pytest.mark.timeout(300)
def test_comparisons_carry_ratios_and_verdicts(harness_run: dict) -> None:
    doc = harness_run["doc"]
    comparisons = {c["name"]: c for c in doc["comparisons"]}
    targets = {c["name"] for c in doc["targets"]}
    assert targets == {"enqueue (bulk API)", "drain", "latency p50", "I/O-bound vs ideal", "memory growth"}
    for name in ("enqueue (single calls)", "drain", "latency p50", "I/O-bound throughput"):
        comparison = comparisons[name]
        assert comparison["mrqc"]["system"] == "mrqc"
        if harness_run["peer"]:
            assert comparison["best_peer"]["system"] == harness_run["peer"]
            assert comparison["ratio"] > 0
        else:
            assert comparison["ratio"] is None and comparison["verdict"] == "n/a"
    for name in targets:
        assert comparisons[name]["verdict"] in ("PASS", "MISS", "n/a")
    assert comparisons["memory growth"]["verdict"] in ("PASS", "MISS")


@pytest.mark.timeout(300)
def test_markdown_report_is_written_and_printed(harness_run: dict) -> None:
    text = harness_run["markdown"]
    assert "## Targets" in text and "## Configurations" in text
    assert "| PASS |" in text or "| MISS |" in text
    for system in harness_run["systems"]:
        assert f"| {system} |" in text
    assert text.strip() in harness_run["stdout"]
    # A partial quick run never replaces the committed full-run table.
    assert not (harness_run["out_dir"] / "latest.md").exists()


@pytest.mark.timeout(300)
def test_no_keys_or_workers_left_behind(harness_run: dict) -> None:
    client = redis_lib.Redis.from_url(harness_run["bench_url"])
    prefix = harness_run["prefix"]
    leftovers = list(client.scan_iter(match=f"{prefix}*", count=1000))
    huey_name = prefix.replace("-", "").replace(":", "") + "_huey"
    leftovers += list(client.scan_iter(match=f"huey.*{huey_name}*", count=1000))
    assert leftovers == []
    pids = [p for p in harness_run["out_dir"].glob("logs/*/*.pids")]
    assert pids, "the runner records the workers it starts"
    for pidfile in pids:
        for line in pidfile.read_text().split("\n"):
            if line.strip():
                pid = int(line.split()[0])
                with pytest.raises(ProcessLookupError):
                    os.killpg(pid, 0)
