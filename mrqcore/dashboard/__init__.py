"""``mrqc dashboard``: the web view of jobs, queues and workers, with a JSON API behind every page.

Modules: ``app`` (the Flask app factory and the gevent WSGI server), ``views``
(the pages), ``api`` (the JSON routes), ``openapi`` (their document),
``data`` (what is shown, read through the store and ``mrqcore.admin``),
``security`` (auth, CSRF, bind checks), ``labels`` (Celery states beside MRQ
statuses through the ``mrqc.status_labels`` entry points), ``cli`` (the
command). Flask is an optional dependency (``pip install 'mrqc[dashboard]'``),
imported only when the dashboard runs, never by ``mrqc worker``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask

    from ..runtime import Runtime


def create_app(runtime: "Runtime", **options: Any) -> "Flask":
    """``mrqcore.dashboard.app.create_app`` (imports Flask on call)."""
    from .app import create_app as build
    return build(runtime, **options)
