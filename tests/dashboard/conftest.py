"""Dashboard fixtures: a real ``mrqc dashboard`` process (gevent's WSGI server) on a free port,
an HTTP client that keeps cookies, and jobs run by a real burst worker."""
from __future__ import annotations

import base64
import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import ROOT, wait_for, worker_env

FLAKY_FLAG = "tests.dashboard.tasks.FailUntilFile"
HTML_TASK = "tests.dashboard.tasks.Html"
#: text that would run script or add elements if a page rendered it as HTML
EVIL = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"><b>bold</b>'


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Dashboard:
    """A running ``mrqc dashboard`` subprocess and its base URL."""

    def __init__(self, args: list[str], env: dict[str, str]) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.NamedTemporaryFile(prefix="mrqc-dashboard-", suffix=".log", delete=False)
        self.proc = subprocess.Popen([sys.executable, "-m", "mrqcore.cli", "dashboard", "--port", str(self.port),
                                      "--refresh", "0.5", *args], env=env, cwd=ROOT,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        wait_for(self._answers, timeout=30, interval=0.1, message=f"the dashboard on {self.url}")

    def _answers(self) -> bool:
        if self.proc.poll() is not None:
            raise AssertionError(f"mrqc dashboard exited {self.proc.returncode}:\n{self.output()}")
        try:
            urllib.request.urlopen(self.url + "/api/openapi.json", timeout=2)
        except urllib.error.HTTPError:
            return True  # 401 with --auth: it answers
        except OSError:
            return False
        return True

    def output(self) -> str:
        with open(self.log.name, errors="replace") as fh:
            return fh.read()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        os.unlink(self.log.name)


class Http:
    """A small HTTP client with a cookie jar (the session cookie holds the CSRF token)."""

    def __init__(self, base: str, auth: tuple[str, str] | None = None) -> None:
        self.base = base
        self.auth = auth
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None,
                auth: Any = "default", raw: bytes | None = None) -> tuple[int, dict[str, str], bytes]:
        headers = dict(headers or {})
        auth = self.auth if auth == "default" else auth
        if auth:
            headers["Authorization"] = "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.base + path, data=data, method=method, headers=headers)
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def get_json(self, path: str) -> Any:
        status, _, content = self.request("GET", path)
        assert status == 200, f"GET {path}: {status} {content[:300]!r}"
        return json.loads(content)

    def csrf(self) -> str:
        return self.get_json("/api/csrf")["csrf_token"]

    def post_json(self, path: str, body: Any = None, expect: int = 200) -> Any:
        status, _, content = self.request("POST", path, body if body is not None else {},
                                          headers={"X-CSRF-Token": self.csrf()})
        assert status == expect, f"POST {path}: {status} {content[:300]!r}"
        return json.loads(content)


@pytest.fixture
def start_dashboard(config_values: dict[str, Any]) -> Iterator[Callable[..., Dashboard]]:
    """``start_dashboard("--auth", "u:p")`` -> a running Dashboard on this test's prefix."""
    started: list[Dashboard] = []

    def start(*args: str) -> Dashboard:
        board = Dashboard(list(args), worker_env(config_values))
        started.append(board)
        return board

    yield start
    for board in started:
        board.stop()


@pytest.fixture
def flag_file(tmp_path: Any) -> str:
    return str(tmp_path / "fixed.flag")
