"""Acceptance 1, Celery -> mrqc: a Celery client's calls run on ``mrqc worker --celery-wire``."""
from __future__ import annotations

import pytest

from tests.adapters.wire_tasks import WireError


def test_celery_delay_runs_on_an_mrqc_wire_worker(wire, procs, celery_client, mrqc_client):
    worker = procs("mrqc", wire)
    tasks = celery_client.wire_tasks
    result = tasks["add"].delay(2, 3)
    try:
        assert result.get(timeout=30) == 5
    except Exception:
        print(worker.output())
        raise
    assert tasks["where"].delay().get(timeout=30) == "mrqc"
    with pytest.raises(WireError, match="no luck"):
        tasks["fail"].delay("no luck").get(timeout=30)
    # the job is an mrqc job with an MRQ status, under the Celery task id
    from mrqcore.job import Job
    job = Job(result.id, mrqc_client.runtime).fetch()
    assert job.status == "success" and job.params == {"args": [2, 3], "kwargs": {}}


def test_countdown_goes_to_the_scheduled_set_and_is_acknowledged(wire, procs, celery_client, mrqc_client):
    from mrqcore.job import Job
    from tests.adapters.conftest import broker_holds
    from tests.conftest import wait_for
    worker = procs("mrqc", wire)
    result = celery_client.wire_tasks["add"].apply_async((4, 5), countdown=3600)
    job = Job(result.id, mrqc_client.runtime)
    wait_for(lambda: job.exists, timeout=30, message="the countdown job recorded")
    assert job.fetch().status == "queued" and job.data["meta"]["eta"] > 0
    # A message is acknowledged right after its round is recorded; once a later message's job is recorded,
    # the first round's acknowledgement has been sent (rounds run one after another).
    later = celery_client.wire_tasks["add"].apply_async((6, 7), countdown=3600)
    wait_for(lambda: Job(later.id, mrqc_client.runtime).exists, timeout=30, message="the later job recorded")
    worker.kill()  # acknowledged already: the broker does not give the message back
    assert not broker_holds(wire, result.id)
    soon = celery_client.wire_tasks["add"].apply_async((1, 1), countdown=1)
    procs("mrqc", wire)
    assert soon.get(timeout=30) == 2


def test_protocol_1_messages_run(wire, procs, celery_client):
    procs("mrqc", wire)
    celery_client.conf.task_protocol = 1
    assert celery_client.wire_tasks["add"].delay(20, 22).get(timeout=30) == 42


@pytest.mark.parametrize("serializer", ["msgpack", "yaml"])
def test_msgpack_and_yaml_when_accept_content_allows(wire, procs, celery_client, serializer):
    procs("mrqc", wire, env={"WIRE_ACCEPT": f"json,{serializer}"})
    result = celery_client.wire_tasks["add"].apply_async((7, 8), serializer=serializer)
    assert result.get(timeout=30) == 15


def test_links_and_errbacks_in_a_celery_message_run(wire, procs, celery_client):
    from tests.conftest import wait_for
    procs("mrqc", wire)
    tasks = celery_client.wire_tasks
    ok = tasks["add"].apply_async((1, 2), link=tasks["record"].si(wire.runs_key, 1))
    bad = tasks["fail"].apply_async(("x",), link_error=tasks["record"].si(wire.runs_key, 2),
                                    link=tasks["record"].si(wire.runs_key, 99))
    assert ok.get(timeout=30) == 3
    with pytest.raises(WireError):
        bad.get(timeout=30)
    wait_for(lambda: sorted(wire.runs()) == ["1", "2"], timeout=30, message="the callback and the errback")
