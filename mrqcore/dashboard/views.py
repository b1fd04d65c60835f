"""The dashboard's pages: each is a small HTML shell whose script reads the JSON API.

Nothing here renders job data: the pages fetch ``/api/...`` and put values in
the DOM as text (``static/dashboard.js``), and Jinja autoescapes what the shells
do render (the CSRF token, the page's name, the query string of a jobs link).
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

from ..status import JobStatus
from .security import csrf_token

views = Blueprint("views", __name__)

#: (endpoint, URL, navigation title)
PAGES = (("overview", "/", "Overview"), ("queues", "/queues", "Queues"), ("workers", "/workers", "Workers"),
         ("jobs", "/jobs", "Jobs"), ("failures", "/failures", "Failures"), ("schedule", "/schedule", "Schedule"))


def _page(page: str, **extra: Any) -> str:
    return render_template(f"{page}.html", page=page, pages=PAGES, csrf_token=csrf_token(),
                           refresh_ms=current_app.config["MRQC_REFRESH_MS"], **extra)


@views.get("/")
def overview() -> str:
    return _page("overview")


@views.get("/queues")
def queues() -> str:
    return _page("queues")


@views.get("/workers")
def workers() -> str:
    return _page("workers")


@views.get("/jobs")
def jobs() -> str:
    return _page("jobs", statuses=[status.value for status in JobStatus])


@views.get("/jobs/<job_id>")
def job(job_id: str) -> str:
    return _page("job", job_id=job_id)


@views.get("/failures")
def failures() -> str:
    return _page("failures")


@views.get("/schedule")
def schedule() -> str:
    return _page("schedule")
