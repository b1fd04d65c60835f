"""The dashboard's Flask app factory and its server (gevent's WSGI server).

``create_app(runtime, auth=...)`` builds the app around one runtime (its store
is where every page reads); ``serve(app, host, port)`` runs it on
``gevent.pywsgi.WSGIServer`` until interrupted. ``mrqc dashboard`` does both.
"""
from __future__ import annotations

import secrets
from typing import Any

from flask import Flask

from ..runtime import Runtime
from . import security
from .api import api
from .views import views


def create_app(runtime: Runtime, *, auth: tuple[str, str] | None = None, secret_key: bytes | None = None,
               refresh_ms: int = 2000) -> Flask:
    """The dashboard app over ``runtime``.

    ``auth`` (user, password) guards every route; ``secret_key`` signs the
    session cookie that holds the CSRF token (default: random per process, so
    a restart asks pages to reload); ``refresh_ms`` is how often pages poll.
    """
    app = Flask(__name__, static_folder="static", template_folder="templates")
    app.config.update(
        SECRET_KEY=secret_key or secrets.token_bytes(32),
        SESSION_COOKIE_NAME="mrqc_dashboard",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        JSON_SORT_KEYS=False,
        MRQC_RUNTIME=runtime,
        MRQC_REFRESH_MS=int(refresh_ms),
    )
    app.json.sort_keys = False  # type: ignore[attr-defined]
    security.install(app, auth)
    app.register_blueprint(api)
    app.register_blueprint(views)

    @app.after_request
    def _headers(response: Any) -> Any:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                                    "script-src 'self'; frame-ancestors 'none'")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    return app


def serve(app: Flask, host: str = "127.0.0.1", port: int = 5555, log: Any = "default") -> None:
    """Serve ``app`` on gevent's WSGI server until interrupted."""
    from gevent.pywsgi import WSGIServer
    server = WSGIServer((host, port), app, log=log)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop(timeout=2)
