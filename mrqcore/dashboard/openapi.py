"""The OpenAPI 3.1 document of the dashboard's JSON API, served at ``/api/openapi.json``.

Written by hand next to the routes (``api.py``); ``tests/dashboard/test_api.py``
checks that every route is documented and every documented path is a route.
"""
from __future__ import annotations

from typing import Any

from .data import JobFilter

_FILTER_HELP = {
    "status": "one MRQ status (queued, started, success, failed, ...)",
    "queue": "queue name or glob", "path": "task path or glob", "exceptiontype": "exception type or glob",
    "worker": "worker id or glob", "id": "one job id", "text": "substring of the params' JSON",
}
_ERROR = {"description": "error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
_OBJECT = {"application/json": {"schema": {"type": "object"}}}


def _get(summary: str, params: list[dict[str, Any]] | None = None, notfound: bool = False) -> dict[str, Any]:
    responses: dict[str, Any] = {"200": {"description": "OK", "content": _OBJECT}, "401": _ERROR}
    if params:
        responses["400"] = _ERROR
    if notfound:
        responses["404"] = _ERROR
    return {"get": {"summary": summary, "parameters": params or [], "responses": responses}}


def _post(summary: str, params: list[dict[str, Any]] | None = None, body: dict[str, Any] | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary, "parameters": params or [],
        "security": [{"basic": []}, {"csrf": []}],
        "requestBody": {"required": True, "content": {"application/json": {"schema": body or {"type": "object"}}}},
        "responses": {"200": {"description": "done", "content": _OBJECT}, "400": _ERROR, "401": _ERROR,
                      "403": _ERROR, "404": _ERROR, "409": _ERROR, "415": _ERROR}}
    return {"post": op}


def _path_param(name: str, description: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "description": description, "schema": {"type": "string"}}


def _query(name: str, description: str, kind: str = "string") -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "description": description, "schema": {"type": kind}}


def openapi_document() -> dict[str, Any]:
    """The document (a fresh dict each call)."""
    job_id = [_path_param("job_id", "the job id")]
    queue = [_path_param("name", "queue name (may contain '/')")]
    filters = [_query(name, _FILTER_HELP[name]) for name in JobFilter.__dataclass_fields__]
    filter_body = {"type": "object", "description": "filters (at least one of status, queue, path, exceptiontype, worker)",
                   "properties": {name: {"type": "string", "description": _FILTER_HELP[name]}
                                  for name in ("status", "queue", "path", "exceptiontype", "worker")}}
    return {
        "openapi": "3.1.0",
        "info": {"title": "mrqc dashboard API", "version": "1",
                 "description": "Reads are GETs. Actions are POSTs with a JSON body and the X-CSRF-Token "
                                "header (from GET /api/csrf, with its session cookie). With --auth, every "
                                "route needs HTTP Basic credentials."},
        "paths": {
            "/api/openapi.json": _get("this document"),
            "/api/csrf": _get("a CSRF token for this session (sets the session cookie)"),
            "/api/overview": _get("status counts, throughput per minute over the last hour, queues, worker summary"),
            "/api/queues": _get("queues: size, paused, raw kind; paused names; jobs waiting for a time"),
            "/api/workers": _get("workers: alive, heartbeat, current jobs with progress, RSS, greenlets, queues"),
            "/api/jobs": _get("a page of jobs, newest first; next_cursor continues it",
                              [*filters, _query("cursor", "index position to start at (next_cursor)", "integer"),
                               _query("limit", "rows, 1-500 (default 50)", "integer")]),
            "/api/jobs/{job_id}": _get("one job: record, log lines, labels, parent/children, replay line",
                                       job_id, notfound=True),
            "/api/failures": _get("the latest failures grouped by task, exception type and status"),
            "/api/schedule": _get("periodic entries: timing, last due run and its status, next run"),
            "/api/jobs/{job_id}/requeue": _post("queue one job again", job_id),
            "/api/jobs/{job_id}/cancel": _post("cancel one job (Celery's revoke without terminate)", job_id),
            "/api/jobs/requeue": _post("requeue every job matching the filters", body=filter_body),
            "/api/jobs/cancel": _post("cancel every job matching the filters", body=filter_body),
            "/api/queues/{name}/pause": _post("pause a queue (workers stop taking its jobs)", queue),
            "/api/queues/{name}/resume": _post("resume a paused queue", queue),
        },
        "components": {
            "schemas": {"Error": {"type": "object", "properties": {"error": {"type": "string"}},
                                  "required": ["error"]}},
            "securitySchemes": {"basic": {"type": "http", "scheme": "basic"},
                                "csrf": {"type": "apiKey", "in": "header", "name": "X-CSRF-Token"}},
        },
    }
