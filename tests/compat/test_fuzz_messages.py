"""Fuzz (hypothesis, bounded): Celery calls with any JSON-ish args reach the task intact or are refused whole.

Each example sends a batch of ``apply_async`` calls whose args/kwargs hypothesis
draws (lone surrogates, huge ints, NaN, nested tuples...), then one real
``mrqc worker -A`` drains them: a call either raises ``SerializationError`` at
send time, queuing nothing, or its task sees exactly the args sent.
"""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mrqcore.exceptions import SerializationError
from tests.compat.conftest import QUEUES
from tests.test_fuzz import ANY_TEXT, JSONISH, _as_read_back, _storable


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(st.lists(JSONISH, max_size=3), st.dictionaries(ANY_TEXT, JSONISH, max_size=3)),
                min_size=15, max_size=15))
def test_celery_calls_with_any_args_arrive_intact_or_are_refused(app, runtime, run_burst, calls):
    from tests.compat.proj_tasks import whoami
    sent = []
    for args, kwargs in calls:
        queued_before = sum(runtime.store.client.llen(runtime.keys.queue(q)) for q in QUEUES)
        try:
            result = whoami.apply_async(args, kwargs)
        except SerializationError:
            assert not (_storable(args) and _storable(kwargs))
            assert sum(runtime.store.client.llen(runtime.keys.queue(q)) for q in QUEUES) == queued_before
            continue
        assert _storable(args) and _storable(kwargs)
        sent.append((result, args, kwargs))
    run_burst("-A", "tests.compat.proj", *QUEUES)
    for result, args, kwargs in sent:
        seen = result.get(timeout=10)
        assert seen["args"] == _as_read_back(args)
        assert seen["kwargs"] == _as_read_back(kwargs)
