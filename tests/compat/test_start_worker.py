"""``mrqc.contrib.testing.start_worker(app)``: the in-process test worker is mrqc's one worker loop.

It runs ``mrqcore.worker.Worker`` (the class ``mrqc worker`` runs) with the
solo pool in a thread of this process, so Celery's worker signals, retries,
countdowns and ``revoke(terminate=True)`` behave as in ``mrqc worker``.
"""
from __future__ import annotations

import threading
import time

import pytest

import mrqcore.worker
from mrqc import signals, states
from mrqc.contrib.pytest import _create_app
from mrqc.contrib.testing import TestWorkController
from mrqc.contrib.testing import start_worker as start_test_worker
from mrqc.exceptions import TaskRevokedError
from tests.conftest import wait_for


@pytest.fixture
def test_app(redis_url):
    """A fresh app with its own runtime and key prefix, made as the pytest plugin's ``celery_app`` is."""
    with _create_app(broker_url=redis_url, result_backend=redis_url) as app:
        yield app


@pytest.fixture
def worker_signals():
    """Celery's worker signals as they are sent: [(name, sender)]."""
    seen = []
    receivers = {}
    for name in ("worker_init", "worker_ready", "worker_shutdown"):
        def receiver(sender=None, _name=name, **kwargs):
            seen.append((_name, sender))
        receivers[name] = receiver
        getattr(signals, name).connect(receiver)
    yield seen
    for name, receiver in receivers.items():
        getattr(signals, name).disconnect(receiver)


def test_start_worker_sends_worker_ready_and_worker_shutdown(test_app, worker_signals):
    with start_test_worker(test_app) as controller:
        loop = controller.worker
        assert [name for name, _ in worker_signals] == ["worker_init", "worker_ready"]
        assert all(sender is loop for _, sender in worker_signals)
    assert [name for name, _ in worker_signals] == ["worker_init", "worker_ready", "worker_shutdown"]
    assert worker_signals[-1][1] is loop and loop.status == "stopped"


def test_start_worker_runs_the_loop_of_mrqc_worker(test_app):
    with start_test_worker(test_app) as controller:
        assert isinstance(controller, TestWorkController)
        assert type(controller.worker) is mrqcore.worker.Worker
        assert controller.worker.pool.name == "solo"
        assert controller.status == "running" and controller.id == controller.worker.id
        assert controller.queues == ["celery"]


def test_tasks_defined_in_the_test_run_with_retries_and_countdowns(test_app):
    attempts = []

    @test_app.task(bind=True, max_retries=3)
    def flaky(self, x):
        attempts.append(self.request.retries)
        if self.request.retries < 2:
            raise self.retry(countdown=0.2)
        return x * 2

    @test_app.task
    def add(x, y):
        return x + y

    with start_test_worker(test_app) as controller:
        assert add.delay(2, 3).get(timeout=20) == 5
        assert flaky.delay(21).get(timeout=20) == 42
        assert attempts == [0, 1, 2]  # retried twice: the promoter put it back each time
        later = add.apply_async((1, 1), countdown=0.3)
        assert later.get(timeout=20) == 2
        assert controller.jobs_done == 5


def test_revoke_terminate_ends_a_running_task(test_app):
    started = threading.Event()

    @test_app.task
    def forever():
        started.set()
        while True:
            time.sleep(0.02)

    @test_app.task
    def add(x, y):
        return x + y

    with start_test_worker(test_app) as controller:
        result = forever.delay()
        assert started.wait(20)
        assert [job.id for job in controller.worker.running_jobs()] == [result.id]

        def revoked():
            # resent until the revoke listener (a worker service) has subscribed and acted
            result.revoke(terminate=True)
            return result.state == states.REVOKED
        wait_for(revoked, interval=0.2, message="task revoked")
        with pytest.raises(TaskRevokedError):
            result.get(timeout=10)
        assert add.delay(1, 2).get(timeout=20) == 3  # the worker goes on serving
        assert controller.running == {}
