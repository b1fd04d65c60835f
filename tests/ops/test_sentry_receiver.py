"""The local Sentry DSN receiver, fed by the real sentry-sdk (in a child process, so the
SDK's global client never leaks into other tests)."""
from __future__ import annotations

import gzip
import json
import subprocess
import sys
import urllib.request
import zlib

import pytest

from tests.sentry_receiver import SentryReceiver, parse_envelope, sentry_receiver  # noqa: F401

import sentry_sdk  # noqa: E402,F401 - in the test extra: missing is a broken install, not a skip

SEND = """
import sys, sentry_sdk
sentry_sdk.init(dsn=sys.argv[1], default_integrations=False,
                _experiments={"transport_compression_level": int(sys.argv[2])})
sentry_sdk.set_tag("who", "receiver-test")
try:
    1 / 0
except ZeroDivisionError:
    sentry_sdk.capture_exception()
sentry_sdk.capture_message("hello receiver")
sentry_sdk.flush(10)
"""


@pytest.mark.parametrize("level", [0, 9], ids=["plain", "compressed"])
def test_real_sdk_events_arrive(sentry_receiver: SentryReceiver, level: int) -> None:
    subprocess.run([sys.executable, "-c", SEND, sentry_receiver.dsn, str(level)], check=True, timeout=60)
    events = sentry_receiver.wait_for_events(2, timeout=20)
    error, message = events
    assert error["exception"]["values"][-1]["type"] == "ZeroDivisionError"
    assert error["tags"]["who"] == "receiver-test"
    assert message["message"] == "hello receiver"
    assert not sentry_receiver.errors


@pytest.mark.parametrize("encoding", ["gzip", "deflate", "identity"])
def test_store_endpoint_and_encodings(encoding: str) -> None:
    with SentryReceiver() as receiver:
        raw = json.dumps({"event_id": "a" * 32, "message": "legacy"}).encode()
        body = {"gzip": gzip.compress, "deflate": zlib.compress, "identity": lambda b: b}[encoding](raw)
        request = urllib.request.Request(
            f"http://127.0.0.1:{receiver.port}/api/42/store/", data=body, method="POST",
            headers={"Content-Encoding": encoding, "Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            assert response.status == 200
        assert receiver.events()[0]["message"] == "legacy"


def test_parse_envelope_with_and_without_lengths() -> None:
    event = json.dumps({"event_id": "b" * 32}).encode()
    body = (b'{"event_id": "' + b"b" * 32 + b'"}\n'
            + b'{"type": "event", "length": ' + str(len(event)).encode() + b"}\n" + event + b"\n"
            + b'{"type": "attachment"}\n' + b"not json\n")
    header, items = parse_envelope(body)
    assert header["event_id"] == "b" * 32
    assert items[0] == ({"type": "event", "length": len(event)}, {"event_id": "b" * 32})
    assert items[1] == ({"type": "attachment"}, b"not json")
