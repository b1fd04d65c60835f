"""Auth, CSRF, binding and escaping, against a real ``mrqc dashboard`` process.

Every route the app has is enumerated from its URL map, so a route added later
is covered without touching this file.
"""
from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from mrqcore.job import queue_job
from tests.conftest import ROOT, worker_env
from tests.dashboard.conftest import EVIL, HTML_TASK, Http

import flask  # noqa: E402,F401 - the dashboard extra is part of the test extra

USER = ("ops", "s3cret:with:colons")


def _routes():
    """(method, concrete path) for every route of the app, with sample path arguments."""
    from mrqcore.dashboard.app import create_app

    class _NoRuntime:  # the URL map does not touch the runtime
        pass

    app = create_app(_NoRuntime())  # type: ignore[arg-type]
    out = []
    for rule in app.url_map.iter_rules():
        path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: {"filename": "dashboard.js"}.get(m.group(1), "some-id"), rule.rule)
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            out.append((method, path))
    return out


ROUTES = _routes()
POSTS = [(m, p) for m, p in ROUTES if m == "POST"]


def test_the_route_list_is_complete():
    assert ("GET", "/static/dashboard.js") in ROUTES and ("GET", "/api/jobs") in ROUTES
    assert len(POSTS) == 6


def test_auth_is_required_on_every_route(start_dashboard, runtime):
    board = start_dashboard("--auth", f"{USER[0]}:{USER[1]}")
    anonymous, wrong, good = Http(board.url), Http(board.url, ("ops", "nope")), Http(board.url, USER)
    for method, path in ROUTES:
        body = {} if method == "POST" else None
        for client in (anonymous, wrong):
            status, headers, _ = client.request(method, path, body)
            assert status == 401, (method, path, status)
            assert headers.get("WWW-Authenticate", "").startswith("Basic")
    for method, path in ROUTES:
        if method == "GET" and "some-id" not in path:
            assert good.request("GET", path)[0] == 200, path
    queue_job("tests.tasks.basic.Add", {"a": 1, "b": 2}, queue="authq")
    assert good.post_json("/api/queues/authq/pause") == {"queue": "authq", "paused": True}


def test_csrf_is_required_on_every_action(start_dashboard, runtime):
    board = start_dashboard()
    client = Http(board.url)
    token = client.csrf()
    for method, path in POSTS:
        assert client.request(method, path, {})[0] == 403, path  # no token
        assert client.request(method, path, {}, headers={"X-CSRF-Token": "forged"})[0] == 403, path
        # another browser's (attacker's) session: its token does not match this session's cookie
        assert Http(board.url).request(method, path, {}, headers={"X-CSRF-Token": token})[0] == 403, path
        # a plain form post (what a cross-site page can send) is refused even with the token
        status, _, _ = client.request(method, path, raw=b"status=failed", headers={
            "X-CSRF-Token": token, "Content-Type": "application/x-www-form-urlencoded"})
        assert status == 415, path
    queue_job("tests.tasks.basic.Add", {"a": 1, "b": 2}, queue="csrfq")
    assert client.post_json("/api/queues/csrfq/pause")["paused"] is True


def test_pages_embed_the_token_and_security_headers(start_dashboard):
    board = start_dashboard()
    status, headers, page = Http(board.url).request("GET", "/jobs")
    assert status == 200 and re.search(rb'<meta name="csrf-token" content="[\w-]{20,}">', page)
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Frame-Options"] == "DENY" and headers["X-Content-Type-Options"] == "nosniff"


def test_user_data_is_never_rendered_as_html(start_dashboard, runtime, run_burst):
    ok = queue_job(HTML_TASK, {"html": EVIL}, queue="evil")
    bad = queue_job(HTML_TASK, {"html": EVIL, "fail": True}, queue="evil")
    run_burst("evil")
    board = start_dashboard()
    client = Http(board.url)
    # The page shells render no job data, and what they do render (the URL's id) is escaped.
    for path in ("/", "/jobs", "/failures", f"/jobs/{ok}", f"/jobs/{bad}"):
        status, _, page = client.request("GET", path)
        assert status == 200 and b"<script>window" not in page and b"onerror" not in page
    status, _, page = client.request("GET", "/jobs/%3Cimg%20src=x%20onerror=alert(1)%3E")
    assert status == 200 and b"<img src=x" not in page and b"&lt;img src=x onerror=alert(1)&gt;" in page
    # The API returns the data as JSON strings, typed as JSON (never text/html).
    for path in (f"/api/jobs/{ok}", f"/api/jobs/{bad}", "/api/jobs?queue=evil", "/api/failures"):
        status, headers, content = client.request("GET", path)
        assert status == 200 and headers["Content-Type"] == "application/json", path
        json.loads(content)
    ok_job = client.get_json(f"/api/jobs/{ok}")
    assert ok_job["job"]["params"] == {"html": EVIL} and ok_job["job"]["result"] == EVIL
    bad_job = client.get_json(f"/api/jobs/{bad}")
    assert EVIL in bad_job["job"]["traceback"] and any(EVIL in line for line in bad_job["log_lines"])
    # The page script only ever writes data as text (no innerHTML and friends).
    status, _, script = client.request("GET", "/static/dashboard.js")
    assert status == 200
    for sink in (b"innerHTML", b"outerHTML", b"insertAdjacentHTML", b"document.write", b"eval("):
        assert sink not in script, sink


@pytest.mark.parametrize("args, message", [
    (["--host", "0.0.0.0"], "--auth"),
    (["--host", "192.0.2.1"], "--auth"),
    (["--auth", "nopassword"], "user:password"),
    (["--auth", ":pw"], "user:password"),
])
def test_refuses_to_bind_openly_or_with_bad_auth(config_values, args, message):
    proc = subprocess.run([sys.executable, "-m", "mrqcore.cli", "dashboard", *args], env=worker_env(config_values),
                          cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr


def test_check_bind_rules():
    from mrqcore.dashboard.security import check_bind
    from mrqcore.exceptions import ConfigError
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_bind(host, None, False)
    check_bind("0.0.0.0", ("u", "p"), False)
    check_bind("0.0.0.0", None, True)
    with pytest.raises(ConfigError, match="--insecure"):
        check_bind("10.0.0.1", None, False)


def test_insecure_binds_all_addresses(start_dashboard):
    board = start_dashboard("--host", "0.0.0.0", "--insecure")
    assert "without auth" in board.output()
