"""Remote control's transport on every store: ``mrqcore.control.broadcast`` over ``publish``/``subscribe``.

Remote control adds no store primitive: a request is one ``publish`` on a
channel every worker subscribes to, each reply one ``publish`` on the
caller's own reply channel, subscribed before the request goes out. These
tests run that exchange on each store of the contract suite (a Redis Cluster
store passes them once its pub/sub does), with responders in threads standing
in for workers (the worker's side is tested with real workers in
tests/compat/test_control*.py).
"""
from __future__ import annotations

import json
import threading
from typing import Iterator

import pytest

from mrqcore.control import REQUEST_CHANNEL, broadcast
from mrqcore.store.base import JobStore


class Responder:
    """Answers every request meant for ``name`` with ``{"ok": name, "command": ...}``, in a thread."""

    def __init__(self, store: JobStore, name: str) -> None:
        self.store, self.name = store, name
        self.subscription = store.subscribe(REQUEST_CHANNEL)
        self.seen: list[dict] = []
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping:
            raw = self.subscription.get(0.1)
            if raw is None:
                continue
            request = json.loads(raw)
            self.seen.append(request)
            if request["destination"] is not None and self.name not in request["destination"]:
                continue
            if request["reply_to"]:
                self.store.publish(request["reply_to"], json.dumps(
                    {"id": request["id"], "worker": self.name, "reply": {"ok": self.name,
                                                                        "command": request["command"]}}))

    def close(self) -> None:
        self.stopping = True
        self.thread.join(5)
        self.subscription.close()


@pytest.fixture
def responders(store: JobStore) -> Iterator[list[Responder]]:
    made = [Responder(store, "a@host"), Responder(store, "b@host")]
    yield made
    for responder in made:
        responder.close()


def test_no_listener_gives_an_empty_list_after_the_timeout(store: JobStore) -> None:
    assert broadcast(store, "ping", reply=True, timeout=0.2) == []
    assert broadcast(store, "ping") is None  # no reply asked: nothing is waited for


def test_every_listener_replies_on_the_callers_channel(store: JobStore, responders: list[Responder]) -> None:
    got: list[dict] = []
    replies = broadcast(store, "stats", {"x": 1}, reply=True, timeout=10, limit=2, callback=got.append)
    assert sorted(next(iter(r)) for r in replies) == ["a@host", "b@host"] and got == replies
    assert all(next(iter(r.values())) == {"ok": next(iter(r)), "command": "stats"} for r in replies)
    assert all(resp.seen[-1]["arguments"] == {"x": 1} for resp in responders)


def test_a_destination_limits_who_answers_and_how_long_it_waits(store: JobStore, responders: list[Responder]) \
        -> None:
    assert broadcast(store, "ping", reply=True, timeout=10, destination="b@host") == [
        {"b@host": {"ok": "b@host", "command": "ping"}}]
    assert broadcast(store, "ping", reply=True, timeout=0.2, destination=["nobody"]) == []


def test_replies_to_another_request_are_not_mixed_in(store: JobStore, responders: list[Responder]) -> None:
    """Two callers at once each get only the replies to their own request."""
    results: list[list[dict] | None] = []
    threads = [threading.Thread(target=lambda: results.append(
        broadcast(store, "ping", reply=True, timeout=10, limit=2))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert [sorted(next(iter(r)) for r in replies or []) for replies in results] == [["a@host", "b@host"]] * 2
