"""A local Sentry DSN for tests: a real HTTP server that keeps what sentry-sdk sends.

The real ``sentry-sdk`` posts to ``http://<key>@127.0.0.1:<port>/<project>``; this
server answers ``POST /api/<project>/envelope/`` (and the legacy ``/store/``),
un-gzips/inflates the body, splits envelopes into items, and keeps every item of
type ``event`` (error events) and, separately, every item it saw. It is not a
mock of sentry-sdk: the SDK, its transport and its serializer run for real.

Use the ``sentry_receiver`` fixture (import it into your test module or conftest)::

    from tests.sentry_receiver import sentry_receiver  # noqa: F401  (pytest fixture)

    def test_x(sentry_receiver):
        env = {"SENTRY_DSN": sentry_receiver.dsn}
        ...
        events = sentry_receiver.wait_for_events(1, timeout=20)
        assert events[0]["tags"]["mrqc.task"] == "..."

Or run it yourself: ``with SentryReceiver() as receiver: ...``.
"""
from __future__ import annotations

import gzip
import json
import threading
import time
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest

__all__ = ["SentryReceiver", "parse_envelope", "sentry_receiver"]


def parse_envelope(body: bytes) -> tuple[dict[str, Any], list[tuple[dict[str, Any], Any]]]:
    """Split a Sentry envelope into ``(header, [(item_header, payload), ...])``.

    An envelope is a JSON header line, then for each item a JSON item-header line
    and a payload: ``length`` bytes when the item header gives one, else up to the
    next newline. JSON payloads are decoded; others stay bytes.
    """
    pos = body.find(b"\n")
    header_line = body if pos < 0 else body[:pos]
    header = json.loads(header_line) if header_line.strip() else {}
    pos = len(body) if pos < 0 else pos + 1
    items: list[tuple[dict[str, Any], Any]] = []
    while pos < len(body):
        end = body.find(b"\n", pos)
        line = body[pos:] if end < 0 else body[pos:end]
        pos = len(body) if end < 0 else end + 1
        if not line.strip():
            continue
        item_header = json.loads(line)
        length = item_header.get("length")
        if length is not None:
            raw = body[pos:pos + length]
            pos += length
            if pos < len(body) and body[pos:pos + 1] == b"\n":
                pos += 1
        else:
            end = body.find(b"\n", pos)
            raw = body[pos:] if end < 0 else body[pos:end]
            pos = len(body) if end < 0 else end + 1
        try:
            payload: Any = json.loads(raw)
        except ValueError:
            payload = raw
        items.append((item_header, payload))
    return header, items


def _decode_body(body: bytes, encoding: str) -> bytes:
    encoding = (encoding or "").strip().lower()
    if encoding == "gzip":
        return gzip.decompress(body)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:  # raw deflate without the zlib header
            return zlib.decompress(body, -zlib.MAX_WBITS)
    if encoding == "br":
        import brotli  # type: ignore[import-not-found]  # only if the SDK chose brotli
        return brotli.decompress(body)
    return body


class SentryReceiver:
    """A threaded HTTP server on 127.0.0.1 that plays a Sentry project's ingest endpoint.

    ``dsn`` is the DSN to hand to ``sentry_sdk.init`` or ``SENTRY_DSN``;
    ``events()`` the error events received so far (decoded JSON dicts, in order);
    ``items()`` every envelope item as ``(item_header, payload)``;
    ``wait_for_events(n, timeout)`` blocks until at least ``n`` events arrived.
    """

    def __init__(self, project_id: int = 42, key: str = "publickey") -> None:
        self.project_id = project_id
        self.key = key
        self._events: list[dict[str, Any]] = []
        self._items: list[tuple[dict[str, Any], Any]] = []
        self._requests: list[str] = []
        self._cond = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802  (http.server's naming)
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                try:
                    body = _decode_body(body, self.headers.get("Content-Encoding", ""))
                    receiver._accept(self.path, body)
                except Exception as exc:  # a bad body is a test failure: answer 400 and keep it visible
                    receiver._record_error(self.path, exc)
                    self.send_response(400)
                    self.end_headers()
                    return
                payload = b'{"id": "ok"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port: int = self._server.server_address[1]
        self._thread: threading.Thread | None = None
        self.errors: list[str] = []

    @property
    def dsn(self) -> str:
        return f"http://{self.key}@127.0.0.1:{self.port}/{self.project_id}"

    def start(self) -> "SentryReceiver":
        self._thread = threading.Thread(target=self._server.serve_forever, name="sentry-receiver",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> "SentryReceiver":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- what arrived ---------------------------------------------------------
    def events(self) -> list[dict[str, Any]]:
        """Error events received so far (envelope items of type ``event`` and ``/store/`` bodies)."""
        with self._cond:
            return list(self._events)

    def items(self) -> list[tuple[dict[str, Any], Any]]:
        """Every envelope item received so far, as ``(item_header, payload)``."""
        with self._cond:
            return list(self._items)

    def wait_for_events(self, count: int, timeout: float = 20.0) -> list[dict[str, Any]]:
        """Block until at least ``count`` events arrived; return them. Fails after ``timeout``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while len(self._events) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} Sentry event(s) within {timeout}s, got {len(self._events)}; "
                        f"requests: {self._requests}; errors: {self.errors}")
                self._cond.wait(left)
            return list(self._events)

    def clear(self) -> None:
        with self._cond:
            self._events.clear()
            self._items.clear()
            self._requests.clear()

    # -- internals --------------------------------------------------------------
    def _accept(self, path: str, body: bytes) -> None:
        route = path.split("?", 1)[0]
        if route.endswith("/envelope/"):
            _, items = parse_envelope(body)
            events = [payload for header, payload in items
                      if header.get("type") == "event" and isinstance(payload, dict)]
        elif route.endswith("/store/"):
            event = json.loads(body)
            items, events = [({"type": "event"}, event)], [event]
        else:
            raise ValueError(f"unexpected Sentry path {path!r}")
        with self._cond:
            self._requests.append(route)
            self._items.extend(items)
            self._events.extend(events)
            self._cond.notify_all()

    def _record_error(self, path: str, exc: Exception) -> None:
        with self._cond:
            self.errors.append(f"{path}: {type(exc).__name__}: {exc}")
            self._cond.notify_all()


@pytest.fixture
def sentry_receiver() -> Iterator[SentryReceiver]:
    """A running :class:`SentryReceiver`; ``.dsn``, ``.events()``, ``.wait_for_events(n, timeout)``."""
    receiver = SentryReceiver().start()
    yield receiver
    receiver.stop()
