"""Issue 9 item 13: a worker started while Redis is down waits for it, one log line per attempt."""
from __future__ import annotations

from mrqcore.config import Config
from mrqcore.job import Job, queue_job
from mrqcore.runtime import Runtime
from tests.conftest import wait_for
from tests.redis_server import free_port, redis_server_factory  # noqa: F401 - fixture


def _retry_lines(worker):
    return [line for line in worker.output().splitlines() if "is unreachable" in line and "retrying" in line]


def test_worker_waits_for_redis_then_serves(config_values, start_worker, redis_server_factory):  # noqa: F811
    port = free_port()
    config_values["redis"] = f"redis://:pw-not-shown@127.0.0.1:{port}/0"
    server = redis_server_factory(port=port, start=False, args=["--requirepass", "pw-not-shown"])
    worker = start_worker("--greenlets", "2")
    wait_for(lambda: len(_retry_lines(worker)) >= 2 or worker.proc.poll() is not None, timeout=30,
             message="two retry log lines")
    assert worker.proc.poll() is None, worker.output()
    lines = _retry_lines(worker)
    assert all(f"127.0.0.1:{port}" in line and "attempt" in line for line in lines), lines
    assert "pw-not-shown" not in worker.output()
    assert "Traceback" not in worker.output()

    server.start()
    runtime = Runtime(Config(config_values))
    try:
        job_id = queue_job("tests.tasks.basic.Add", {"a": 20, "b": 22}, runtime=runtime)
        wait_for(lambda: Job(job_id, runtime).fetch().status == "success", timeout=30,
                 message="the job done by the worker that waited")
        assert Job(job_id, runtime).fetch().result == 42
    finally:
        runtime.close()
    assert "answers" in worker.output()


def test_without_retry_the_worker_exits_with_one_clear_line(config_values, start_worker):
    port = free_port()
    config_values["redis"] = f"redis://127.0.0.1:{port}/0"
    worker = start_worker("--burst", env={"MRQC_REDIS_RETRY_ON_STARTUP": "false"})
    code = worker.wait(60)
    output = worker.output()
    assert code == 1, output
    assert "giving up after 1 attempt(s)" in output and "Traceback" not in output


def test_wrong_password_is_not_retried(config_values, start_worker, redis_server_factory):  # noqa: F811
    server = redis_server_factory(args=["--requirepass", "right-pw"])
    config_values["redis"] = f"redis://:wrong-pw@127.0.0.1:{server.port}/0"
    worker = start_worker("--burst")
    code = worker.wait(60)
    output = worker.output()
    assert code == 1, output
    assert "refused the credentials" in output and "wrong-pw" not in output
