"""Who may look and who may act: HTTP Basic auth on every route, a CSRF token on every action.

* Auth (``--auth user:password``): every page, API route and static file answers
  401 without those credentials (compared in constant time).
* CSRF: an action is a POST carrying the header ``X-CSRF-Token`` equal to the
  token held in the user's signed session cookie. Pages embed the token
  (``<meta name="csrf-token">``); API clients get one from ``GET /api/csrf``
  (the answer also sets the cookie). A cross-site form cannot set the header,
  and cannot read the token. Actions also require a JSON body, which plain
  cross-site forms cannot send.
* Binding: ``check_bind`` refuses an address other than loopback without auth,
  unless the operator says ``insecure``.
"""
from __future__ import annotations

import hmac
import ipaddress
import secrets
from typing import Any

from flask import Flask, Response, jsonify, request, session

from ..exceptions import ConfigError

#: header an action carries its CSRF token in
CSRF_HEADER = "X-CSRF-Token"
_REALM = 'Basic realm="mrqc dashboard", charset="UTF-8"'


def parse_auth(value: str | None) -> tuple[str, str] | None:
    """``user:password`` -> (user, password); ConfigError naming ``--auth`` when malformed."""
    if value is None:
        return None
    user, sep, password = value.partition(":")
    if not sep or not user or not password:
        raise ConfigError("--auth", "expected user:password with a non-empty user and password")
    return user, password


def check_bind(host: str, auth: tuple[str, str] | None, insecure: bool) -> None:
    """Refuse to serve a non-loopback address without auth (ConfigError), unless ``insecure``."""
    if auth or insecure or _is_loopback(host):
        return
    raise ConfigError("--host", f"binding {host!r} would let anyone who can reach it requeue and cancel "
                                "jobs; give --auth user:password (or --insecure if a proxy guards it)")


def install(app: Flask, auth: tuple[str, str] | None) -> None:
    """Require ``auth`` on every request (when set) and a CSRF token on every POST."""

    @app.before_request
    def _guard() -> Any:
        if auth is not None and not _authorized(auth):
            return Response("authentication required\n", 401, {"WWW-Authenticate": _REALM})
        if request.method not in ("GET", "HEAD", "OPTIONS"):
            expected = session.get("csrf")
            given = request.headers.get(CSRF_HEADER, "")
            if not expected or not hmac.compare_digest(str(expected), given):
                return jsonify(error=f"missing or wrong CSRF token (header {CSRF_HEADER}; "
                                     "get one from GET /api/csrf)"), 403
            if not request.is_json:
                return jsonify(error="actions take a JSON body (Content-Type: application/json)"), 415
        return None


def csrf_token() -> str:
    """This session's CSRF token (made on first use)."""
    token = session.get("csrf")
    if not token:
        token = session["csrf"] = secrets.token_urlsafe(32)
    return str(token)


def _authorized(auth: tuple[str, str]) -> bool:
    given = request.authorization
    if given is None or given.type != "basic":
        return False
    user_ok = hmac.compare_digest((given.username or "").encode(), auth[0].encode())
    password_ok = hmac.compare_digest((given.password or "").encode(), auth[1].encode())
    return user_ok and password_ok


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

