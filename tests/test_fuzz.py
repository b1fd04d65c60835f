"""Fuzz tests (hypothesis, bounded): odd values never crash the API nor a job.

* params: any JSON-ish value (surrogates, huge ints, NaN, tuples...) is either
  queued and read back equal, or refused with a SerializationError naming where;
  nothing else, and nothing half-queued;
* log lines: any text, lone surrogates included, logged by a task in a real
  worker, leaves the job ``success`` with the line stored.
"""
from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrqcore import serialization
from mrqcore.exceptions import SerializationError
from mrqcore.job import Job, queue_job

#: every code point, lone surrogates included (hypothesis leaves them out by default)
ANY_CHAR = st.characters(blacklist_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=30)
SCALARS = st.none() | st.booleans() | st.floats() | st.integers() | \
    st.integers(min_value=-(2 ** 70), max_value=2 ** 70) | ANY_TEXT
JSONISH = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4) | st.tuples(inner, inner)
                       | st.dictionaries(ANY_TEXT, inner, max_size=4), max_leaves=12)
FIXTURES_OK = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _storable(value) -> bool:
    """What JSON in UTF-8 can carry, by the rules of mrqcore.serialization."""
    if value is None or isinstance(value, bool):
        return True
    if isinstance(value, float):
        return not (math.isnan(value) or math.isinf(value))
    if isinstance(value, int):
        return -(2 ** 63) <= value < 2 ** 64
    if isinstance(value, str):
        return _utf8(value)
    if isinstance(value, (list, tuple)):
        return all(_storable(v) for v in value)
    if isinstance(value, dict):
        return all(_utf8(k) and _storable(v) for k, v in value.items())
    return False


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
        return True
    except UnicodeEncodeError:
        return False


def _as_read_back(value):
    if isinstance(value, (list, tuple)):
        return [_as_read_back(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_read_back(v) for k, v in value.items()}
    return value


@settings(max_examples=300, deadline=None)
@given(JSONISH)
def test_dumps_checked_round_trips_or_names_the_bad_part(value):
    try:
        data = serialization.dumps_checked(value, "params")
    except SerializationError as exc:
        assert not _storable(value)
        assert exc.path.startswith("params") and str(exc).startswith("params cannot be serialized: params")
        return
    assert _storable(value)
    assert serialization.loads(data) == _as_read_back(value)


@settings(max_examples=300, deadline=None)
@given(ANY_TEXT)
def test_safe_text_is_always_utf8_and_keeps_good_text(text):
    safe = serialization.safe_text(text)
    safe.encode("utf-8")
    if _utf8(text):
        assert safe == text


@FIXTURES_OK
@given(st.dictionaries(ANY_TEXT, JSONISH, max_size=3))
def test_queue_job_stores_params_or_refuses_them_whole(runtime, params):
    before = runtime.store.client.llen(runtime.keys.queue("fuzz"))
    try:
        job_id = queue_job("tests.tasks.basic.Echo", params, queue="fuzz")
    except SerializationError:
        assert not _storable(params)
        assert runtime.store.client.llen(runtime.keys.queue("fuzz")) == before  # nothing half-queued
        return
    assert _storable(params)
    assert Job(job_id).fetch().params == _as_read_back(params)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.lists(st.integers(0, 0x10FFFF) | st.integers(0xD800, 0xDFFF), max_size=40),
                min_size=25, max_size=25))
def test_log_lines_of_any_text_never_break_a_job(runtime, run_burst, lines):
    ids = [queue_job("tests.tasks.reliability.LogCodepoints", {"codepoints": cps}, queue="fuzzlog")
           for cps in lines]
    run_burst("fuzzlog", "--greenlets", "5")
    for job_id, cps in zip(ids, lines):
        job = Job(job_id).fetch()
        text = "".join(chr(c) for c in cps)
        assert job.status == "success", job.traceback
        assert job.result == len(text)
        assert any(line.endswith(serialization.safe_text(text)) for line in job.log_lines), job.log_lines
