"""``mrqc worker --metrics-port``: /metrics scraped during a run, /healthz, multiprocess mode (acceptance 3)."""
from __future__ import annotations

import os
import sys
import urllib.error
import urllib.request
from typing import Any

import pytest

from mrqcore.job import Job, queue_job
from tests.conftest import wait_for
from tests.redis_server import free_port, redis_server_factory  # noqa: F401  (pytest fixture)

import prometheus_client  # noqa: E402,F401 - in the test extra: missing is a broken install, not a skip


def scrape(port: int) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics as {(sample name, sorted labels): value}."""
    from prometheus_client.parser import text_string_to_metric_families
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as response:
        text = response.read().decode()
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(samples: dict, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def health(port: int) -> int:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _done(runtime: Any, ids: list[str]) -> bool:
    return all(Job(i, runtime).fetch(["status"]).data.get("status") in ("success", "failed") for i in ids)


def test_metrics_count_the_jobs_of_a_run(runtime, start_worker):
    port = free_port()
    worker = start_worker("ops", "--metrics-port", str(port), "--greenlets", "2")
    wait_for(lambda: health(port) == 200 or worker.proc.poll() is not None, timeout=30, message="/healthz 200")
    assert worker.proc.poll() is None, worker.output()
    ids = [queue_job("tests.ops.tasks.Hello", {"n": n}, queue="ops", runtime=runtime) for n in range(3)]
    ids.append(queue_job("tests.ops.tasks.Boom", {"what": "m"}, queue="ops", runtime=runtime))
    ids.append(queue_job("tests.ops.tasks.FlakyOnce", {}, queue="ops", runtime=runtime))
    for n in range(2):  # waiting where no worker serves, and one parked for an hour
        queue_job("tests.ops.tasks.Hello", {"n": n}, queue="ops-unserved", runtime=runtime)
    queue_job("tests.ops.tasks.Hello", {"n": 9}, queue="ops", delay=3600, runtime=runtime)
    wait_for(lambda: _done(runtime, ids), timeout=30, message="jobs done")

    samples = wait_for(lambda: (s := scrape(port)) and value(s, "mrqc_jobs_total", task="tests.ops.tasks.FlakyOnce",
                                                             queue="ops", status="success") == 1 and s,
                       timeout=10, message="counters caught up")
    hello = "tests.ops.tasks.Hello"
    assert value(samples, "mrqc_jobs_total", task=hello, queue="ops", status="success") == 3
    assert value(samples, "mrqc_jobs_total", task="tests.ops.tasks.Boom", queue="ops", status="failed") == 1
    assert value(samples, "mrqc_job_retries_total", task="tests.ops.tasks.FlakyOnce", queue="ops") == 1
    assert value(samples, "mrqc_job_duration_seconds_count", task=hello) == 3
    assert value(samples, "mrqc_job_duration_seconds_count", task="tests.ops.tasks.FlakyOnce") == 2
    assert value(samples, "mrqc_queue_length", queue="ops-unserved") == 2
    assert value(samples, "mrqc_queue_length", queue="ops") == 0
    assert value(samples, "mrqc_scheduled_jobs") == 1
    assert value(samples, "mrqc_store_up") == 1
    assert value(samples, "mrqc_jobs_in_progress") == 0 and value(samples, "mrqc_greenlets") == 2
    assert value(samples, "mrqc_greenlets_busy") == 0
    assert value(samples, "mrqc_worker_rss_bytes") > 1e6


def test_healthz_503_when_redis_goes_away(config_values, start_worker, redis_server_factory):
    server = redis_server_factory()
    port = free_port()
    worker = start_worker("ops", "--metrics-port", str(port), env={"MRQC_REDIS": server.url})
    wait_for(lambda: health(port) == 200 or worker.proc.poll() is not None, timeout=30, message="/healthz 200")
    assert worker.proc.poll() is None, worker.output()
    server.stop()
    wait_for(lambda: health(port) == 503, timeout=30, message="/healthz 503 once Redis is gone")
    assert worker.proc.poll() is None  # the worker waits for Redis; it is unhealthy, not dead
    samples = scrape(port)
    assert value(samples, "mrqc_store_up") == 0


@pytest.mark.parametrize("given_dir", [False, True], ids=["temporary-dir", "PROMETHEUS_MULTIPROC_DIR"])
def test_multiprocess_mode_adds_up_the_children(runtime, start_worker, tmp_path, given_dir):
    port = free_port()
    env = {"PROMETHEUS_MULTIPROC_DIR": str(tmp_path)} if given_dir else {}
    if not given_dir:
        env["PROMETHEUS_MULTIPROC_DIR"] = ""  # unset for the worker: the supervisor makes a folder
    worker = start_worker("ops", "--processes", "2", "--metrics-port", str(port), env=env)
    wait_for(lambda: health(port) == 200 or worker.proc.poll() is not None, timeout=30, message="/healthz 200")
    assert worker.proc.poll() is None, worker.output()
    ids = [queue_job("tests.ops.tasks.Hello", {"n": n}, queue="ops", runtime=runtime) for n in range(6)]
    wait_for(lambda: _done(runtime, ids), timeout=30, message="jobs done")
    samples = wait_for(lambda: (s := scrape(port)) and value(
        s, "mrqc_jobs_total", task="tests.ops.tasks.Hello", queue="ops", status="success") == 6 and s,
        timeout=10, message="six successes counted")
    assert value(samples, "mrqc_job_duration_seconds_count", task="tests.ops.tasks.Hello") == 6
    assert value(samples, "mrqc_greenlets") == 2  # livesum of the two children
    if given_dir:
        assert any(f.startswith("counter_") for f in os.listdir(tmp_path))


def test_missing_extra_is_a_clear_error(start_worker, tmp_path):
    # A prometheus_client that cannot be imported, ahead of the real one on the path.
    fake = tmp_path / "prometheus_client"
    fake.mkdir()
    (fake / "__init__.py").write_text("raise ImportError('No module named prometheus_client')\n")
    worker = start_worker("ops", "--metrics-port", str(free_port()),
                          env={"PYTHONPATH": os.pathsep.join([str(tmp_path), *sys.path])})
    assert worker.wait(30) != 0
    assert "pip install 'mrqc[metrics]'" in worker.output()
