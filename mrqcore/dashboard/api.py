"""The dashboard's JSON API (``/api/...``): every page reads these routes, and so can scripts.

Reads are GETs; actions are POSTs with a JSON body and the CSRF header (see
``security``). Every route is documented in ``openapi.py`` (served at
``/api/openapi.json``; a test checks the two agree). Errors are
``{"error": "..."}`` with 400 (bad input), 404 (no such job) or 401/403/415.
"""
from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app, jsonify, request

from .. import admin
from ..exceptions import MrqcError
from ..job import Job
from ..queues import pause_queue, resume_queue
from ..runtime import Runtime
from . import data
from .openapi import openapi_document
from .security import csrf_token

api = Blueprint("api", __name__, url_prefix="/api")


def _runtime() -> Runtime:
    return current_app.config["MRQC_RUNTIME"]


@api.errorhandler(ValueError)
@api.errorhandler(MrqcError)
def _bad_input(exc: Exception) -> Any:
    return jsonify(error=str(exc)), 400


# --- reads ---------------------------------------------------------------------------


@api.get("/openapi.json")
def openapi() -> Any:
    return jsonify(openapi_document())


@api.get("/csrf")
def csrf() -> Any:
    return jsonify(csrf_token=csrf_token())


@api.get("/overview")
def overview() -> Any:
    runtime = _runtime()
    state = current_app.config
    if time.monotonic() - state.get("MRQC_LAST_PRUNE", -1e9) > 30:
        state["MRQC_LAST_PRUNE"] = time.monotonic()
        data.prune_indexes(runtime)
    return jsonify(data.overview(runtime))


@api.get("/queues")
def queues() -> Any:
    return jsonify(data.queues(_runtime()))


@api.get("/workers")
def workers() -> Any:
    return jsonify(data.workers(_runtime()))


@api.get("/jobs")
def jobs() -> Any:
    filters = data.JobFilter.from_mapping(request.args)
    cursor = _int_arg("cursor", 0)
    limit = _int_arg("limit", 50)
    return jsonify(data.jobs_page(_runtime(), filters, cursor, limit))


@api.get("/jobs/<job_id>")
def job(job_id: str) -> Any:
    detail = data.job_detail(_runtime(), job_id)
    if detail is None:
        return jsonify(error=f"no job {job_id!r}"), 404
    return jsonify(detail)


@api.get("/failures")
def failures() -> Any:
    return jsonify(data.failures(_runtime()))


@api.get("/schedule")
def schedule() -> Any:
    return jsonify(data.schedule(_runtime()))


# --- actions -------------------------------------------------------------------------


@api.post("/jobs/<job_id>/requeue")
def requeue_job(job_id: str) -> Any:
    before = Job(job_id, _runtime()).requeue(note="requeued from the dashboard")
    if before is None:
        return _not_acted(job_id, "requeued (unknown, or already queued)")
    return jsonify(id=job_id, previous_status=before)


@api.post("/jobs/<job_id>/cancel")
def cancel_job(job_id: str) -> Any:
    """Celery's ``revoke`` (without ``terminate``): a waiting job never runs; a running one is marked."""
    before = Job(job_id, _runtime()).cancel()
    if before is None:
        return _not_acted(job_id, "cancelled (unknown)")
    return jsonify(id=job_id, previous_status=before)


@api.post("/jobs/requeue")
def requeue_matching() -> Any:
    filters = data.JobFilter.from_mapping(request.get_json(silent=True) or {})
    return jsonify(admin.requeue_jobs(**filters.admin_filters(), note="requeued from the dashboard",
                                      runtime=_runtime()))


@api.post("/jobs/cancel")
def cancel_matching() -> Any:
    filters = data.JobFilter.from_mapping(request.get_json(silent=True) or {})
    return jsonify(admin.cancel_jobs(**filters.admin_filters(), runtime=_runtime()))


@api.post("/queues/<path:name>/pause")
def pause(name: str) -> Any:
    pause_queue(name, runtime=_runtime())
    return jsonify(queue=name, paused=True)


@api.post("/queues/<path:name>/resume")
def resume(name: str) -> Any:
    resume_queue(name, runtime=_runtime())
    return jsonify(queue=name, paused=False)


# --- helpers -------------------------------------------------------------------------


def _int_arg(name: str, default: int) -> int:
    value = request.args.get(name, "")
    if value == "":
        return default
    try:
        return int(value)
    except ValueError:
        raise ValueError(f"{name} must be an integer, got {value!r}") from None


def _not_acted(job_id: str, what: str) -> Any:
    exists = _runtime().store.get(job_id, ("status",)) is not None
    return jsonify(error=f"job {job_id!r} was not {what}"), (409 if exists else 404)
