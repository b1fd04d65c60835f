"""Issue 15's canvas shapes, each run on a real Celery worker and on ``mrqc worker -A``: same result.

One real ``celery worker`` (Redis broker and backend) and one mrqc worker serve the whole module
(``tests.compat.canvas_sides``); both run the tasks of ``tests.compat.canvas_shared``. Each test
builds the canvas once per side with that side's ``chain``/``group``/``chord`` and compares the
values; the expected value is also written out, so a shape both sides got wrong the same way
still fails.
"""
from __future__ import annotations

from typing import Any, Callable

import pytest

from tests.compat.canvas_sides import sides  # noqa: F401 - the module-scoped fixture
from tests.conftest import wait_for

Build = Callable[[dict[str, Any], Any], Any]


def _value(build: Build) -> Build:
    return lambda t, c: build(t, c).get(timeout=30)


def _error(build: Build) -> Build:
    def run(t: dict[str, Any], c: Any) -> Any:
        try:
            build(t, c).get(timeout=30)
        except Exception as exc:  # the same exception type on both sides (rebuilt from its record)
            return type(exc).__name__, str(exc)
        return "no error"
    return run


HEADERS: dict[str, tuple[Build, Any]] = {
    # one signature as the whole header: a header of one
    "one signature": (lambda t, c: c.chord(t["add"].s(1, 2), t["identity"].s()), [3]),
    # a chain in a header contributes its last value
    "chain": (lambda t, c: c.chord([t["add"].s(1, 1) | t["mul"].s(10), t["add"].s(5, 5)], t["identity"].s()),
              [20, 10]),
    # a group in a header is flattened into it, its members in reverse order (Celery's extendleft)
    "group": (lambda t, c: c.chord([c.group(t["add"].s(1, 1), t["add"].s(2, 2)), t["add"].s(5, 5)],
                                   t["identity"].s()), [4, 2, 10]),
    "group of chains": (lambda t, c: c.chord([c.group(t["add"].s(1, 1) | t["mul"].s(2), t["add"].s(3, 3))],
                                             t["identity"].s()), [6, 4]),
    # a chord in a header contributes its body's value: a chord of chords
    "chord": (lambda t, c: c.chord([c.chord([t["add"].s(1, 1), t["add"].s(2, 2)], t["xsum"].s()),
                                    t["add"].s(5, 5)], t["identity"].s()), [6, 10]),
    # a chain ending in a group contributes the group's list
    "chain ending in a group": (lambda t, c: c.chord([t["add"].s(1, 1) | c.group(t["add"].s(1), t["add"].s(2)),
                                                      t["add"].s(5, 5)], t["identity"].s()), [[3, 4], 10]),
}

BODIES: dict[str, tuple[Build, Any]] = {
    "group": (lambda t, c: c.chord([t["add"].s(1, 1), t["add"].s(2, 2)], c.group(t["xsum"].s(), t["identity"].s())),
              [6, [2, 4]]),
    "chord": (lambda t, c: c.chord([t["add"].s(1, 1), t["add"].s(2, 2)],
                                   c.chord([t["xsum"].s(), t["identity"].s()], t["identity"].s())), [6, [2, 4]]),
    "chain of a group into a group": (lambda t, c: (t["add"].s(1, 1) | c.group(t["add"].s(1), t["add"].s(2))
                                                    | c.group(t["xsum"].s(), t["identity"].s())), [7, [3, 4]]),
    # nested groups are spliced in: in order in a plain group, reversed inside a workflow (Celery's two unrolls)
    "group of a group": (lambda t, c: c.group(c.group(t["add"].s(1, 1), t["add"].s(2, 2)), t["add"].s(5, 5)),
                         [2, 4, 10]),
    "chain ending in a group of a group": (lambda t, c: t["add"].s(1, 1) | c.group(c.group(t["add"].s(1),
                                                                                          t["add"].s(2)),
                                                                                  t["add"].s(3)), [4, 3, 5]),
    "group of a group as a chord body": (lambda t, c: c.chord([t["add"].s(1, 1)], c.group(
        c.group(t["add"].s([1]), t["add"].s([2])), t["add"].s([3]))), [[2, 2], [2, 1], [2, 3]]),
    "chord body then a task": (lambda t, c: c.chord([t["add"].s(1, 1), t["add"].s(2, 2)], t["xsum"].s())
                               | t["mul"].s(3), 18),
}

REPLACES: dict[str, tuple[Build, Any]] = {
    "by a task": (lambda t, c: t["replace_with"].delay("task", 1), 101),
    "by a chain": (lambda t, c: t["replace_with"].delay("chain", 1), 20),
    "by a group": (lambda t, c: t["replace_with"].delay("group", 1), [2, 3]),
    "in a chain, by a chain": (lambda t, c: (t["replace_with"].s("chain", 1) | t["add"].s(7)).delay(), 27),
    "in a chain, by a group": (lambda t, c: (t["replace_with"].s("group", 1) | t["identity"].s()).delay(), [2, 3]),
    "in a chord header": (lambda t, c: c.chord([t["replace_with"].s("chain", 1), t["add"].s(2, 2)],
                                               t["identity"].s()).delay(), [20, 4]),
}


@pytest.mark.parametrize("shape", list(HEADERS))
def test_chord_header_shapes(sides, shape):  # noqa: F811
    build, expected = HEADERS[shape]
    on_celery, on_mrqc = sides.run(_value(lambda t, c: build(t, c).delay()))
    assert on_celery == expected
    assert on_mrqc == on_celery


@pytest.mark.parametrize("shape", list(BODIES))
def test_chord_body_and_chain_shapes(sides, shape):  # noqa: F811
    build, expected = BODIES[shape]
    on_celery, on_mrqc = sides.run(_value(lambda t, c: build(t, c).delay()))
    assert on_celery == expected
    assert on_mrqc == on_celery


def test_failure_in_a_header_chain_fails_the_chord(sides):  # noqa: F811
    def build(t: dict[str, Any], c: Any) -> Any:
        return c.chord([t["add"].s(1, 1) | t["fail"].s(), t["add"].s(5, 5)], t["identity"].s()).delay()
    on_celery, on_mrqc = sides.run(_error(build))
    assert on_celery == ("CanvasError", "canvas.fail")
    assert on_mrqc == on_celery


@pytest.mark.parametrize("shape", list(REPLACES))
def test_replace(sides, shape):  # noqa: F811
    build, expected = REPLACES[shape]
    on_celery, on_mrqc = sides.run(_value(build))
    assert on_celery == expected
    assert on_mrqc == on_celery


def test_replace_keeps_the_id_and_its_link(sides):  # noqa: F811
    keys = {}

    def build(t: dict[str, Any], c: Any) -> Any:
        key = keys.setdefault(id(t), sides.key("link"))
        result = t["replace_with"].apply_async(("task", 2), link=t["record"].s(key))
        value = result.get(timeout=30)
        wait_for(lambda: sides.runs(key), timeout=20, message="link callback")
        return value, result.state, type(result).__name__ != "GroupResult", sides.runs(key)
    on_celery, on_mrqc = sides.run(build)
    assert on_celery == (102, "SUCCESS", True, ["102"])
    assert on_mrqc == on_celery


def test_replace_by_a_failing_task(sides):  # noqa: F811
    on_celery, on_mrqc = sides.run(_error(lambda t, c: (t["replace_with"].s("fail", 1) | t["add"].s(1)).delay()))
    assert on_celery == ("CanvasError", "canvas.fail")
    assert on_mrqc == on_celery


def test_add_to_chord(sides):  # noqa: F811
    def build(t: dict[str, Any], c: Any) -> Any:
        return c.chord([t["grow_chord"].s(1), t["add"].s(2, 2)], t["identity"].s()).delay().get(timeout=30)
    on_celery, on_mrqc = sides.run(build)
    # Celery orders the added task's value against its adder's by task id (a Redis sorted-set tie);
    # mrqc puts it right after: the values are the same
    assert sorted(on_celery) == [1, 4, 1001]
    assert sorted(on_mrqc) == sorted(on_celery) and on_mrqc == [1, 1001, 4]


def test_abortable_task(sides):  # noqa: F811
    def build(t: dict[str, Any], c: Any) -> Any:
        key = sides.key("abort")
        result = t["wait_abort"].delay(key, 30)
        wait_for(lambda: sides.runs(key) == ["started"], timeout=20, message="task started")
        before = result.is_aborted()
        result.abort()
        value = result.get(timeout=30)
        return type(result).__name__, before, value, result.state, result.is_aborted(), sides.runs(key)
    on_celery, on_mrqc = sides.run(build)
    assert on_celery == ("AbortableAsyncResult", False, "aborted", "SUCCESS", False, ["started", "aborted"])
    assert on_mrqc == on_celery


def test_priorities_follow_celerys_redis_steps(sides):  # noqa: F811
    """Calls waiting on one queue run by step (0-2, 3-5, 6-8, 9: lower first; no priority is 0),
    in order of sending within a step; the task's own ``priority`` applies when the call gives none."""
    queue = f"prio-{sides.key('q')[-8:]}"
    keys = {"celery": sides.key("prio"), "mrqc": sides.key("prio")}
    sends = [(9, "p9"), (None, "none"), (5, "p5"), (0, "p0"), ("task", "task7"), (3, "p3"), (6, "p6")]
    for side in sides.each():
        for priority, label in sends:
            if priority == "task":  # declared with @app.task(priority=7)
                side.tasks["order_low"].apply_async((keys[side.name], label), queue=queue)
            else:
                side.tasks["order"].apply_async((keys[side.name], label), queue=queue, priority=priority)
    sides.start_one_at_a_time(queue)
    for side in sides.each():
        wait_for(lambda: len(sides.runs(keys[side.name])) == len(sends), timeout=40, message=f"{side.name} runs")
    on_celery, on_mrqc = sides.runs(keys["celery"]), sides.runs(keys["mrqc"])
    assert on_celery == ["none", "p0", "p5", "p3", "task7", "p6", "p9"]
    assert on_mrqc == on_celery
