"""The newsroom's suite, run against a worker already serving its queues (with beat)."""
import uuid

import pytest
from celery.result import AsyncResult

from newsroom import app, effects
from newsroom.tasks.articles import edition, moderate, publication
from newsroom.tasks.digest import send_digest
from newsroom.tasks.media import thumbnails, transcode, watermark

from .helpers import TIMEOUT, wait_until


@pytest.fixture
def uid():
    return uuid.uuid4().hex[:10]


def test_chain_with_automatic_retries(uid):
    result = publication(f"story-{uid}", fail_times=2).delay()
    assert result.get(timeout=TIMEOUT) == f"story-{uid}@web"
    assert effects.seen(f"fetch:story-{uid}") == [0, 1, 2]
    assert f"story-{uid}" in effects.seen("published")
    wait_until(lambda: f"story-{uid}@web" in effects.seen("analytics:published"), what="task_success signal")


def test_result_by_id(uid):
    result = send_digest.delay(edition=f"late-{uid}")
    assert result.get(timeout=TIMEOUT) == f"late-{uid} digest sent"
    again = AsyncResult(result.id, app=app)
    assert again.state == "SUCCESS"
    assert again.get(timeout=TIMEOUT) == f"late-{uid} digest sent"


def test_group_on_the_media_queue(uid):
    result = thumbnails(f"img-{uid}", [100, 200, 400]).delay()
    assert result.get(timeout=TIMEOUT) == [f"img-{uid}@100w", f"img-{uid}@200w", f"img-{uid}@400w"]


def test_chord_edition():
    result = edition(["breaking news today", "weather", "sports results are in"]).delay()
    assert result.get(timeout=TIMEOUT) == 8


def test_explicit_retry_then_success(uid):
    assert moderate.delay(uid, ["later", "later", "approve"]).get(timeout=TIMEOUT) == "approve"


def test_failure_state_and_signal(uid):
    result = moderate.delay(uid, ["reject"])
    with pytest.raises(ValueError):
        result.get(timeout=TIMEOUT)
    assert result.state == "FAILURE"
    wait_until(lambda: ["newsroom.tasks.articles.moderate", "ValueError"] in effects.seen("analytics:failed"),
               what="task_failure signal")


def test_soft_time_limit(uid):
    assert transcode.delay(f"clip-{uid}").get(timeout=TIMEOUT) == f"clip-{uid}: partial"


def test_class_based_task_and_hook(uid):
    assert watermark.delay(f"pic-{uid}").get(timeout=TIMEOUT) == f"pic-{uid}+wm"
    wait_until(lambda: f"pic-{uid}+wm" in effects.seen("watermarked"), what="on_success hook")


def test_beat_runs_the_heartbeat():
    wait_until(lambda: len(effects.seen("heartbeat")) >= 2, timeout=60, what="two heartbeats from beat")
