"""Inspection and bulk actions over jobs, queues and workers (the admin CLI and dashboard use this).

Every function takes an optional ``runtime`` (default: the current one) and
returns plain JSON-ready values (str, int, float, None, lists, dicts); dates
are epoch seconds (float). The job functions scan every job record
(``store.iter_ids`` plus ``store.get_many`` in batches), so they cost O(jobs stored):
fine for an operator or a dashboard, never for a hot path.

Filters (``find_jobs``, ``requeue_jobs``, ``cancel_jobs``): ``status``,
``queue``, ``path``, ``exceptiontype``, ``worker``; each is a string or a list
of strings (any of them matches); a string with ``*`` or ``?`` is a glob
(``path="myapp.tasks.*"``). Filters combine with AND.
"""
from __future__ import annotations

import fnmatch
import time
from typing import Any, Iterator, Sequence

from .runtime import Runtime, get_runtime

#: record fields a job summary holds (``find_jobs`` rows)
SUMMARY_FIELDS = ("path", "queue", "status", "worker", "exceptiontype", "retry_count",
                  "datequeued", "datestarted", "dateupdated", "datedone")
FILTERS = ("status", "queue", "path", "exceptiontype", "worker")
_DATES = ("datequeued", "datestarted", "dateupdated", "datedone")
_SCAN_BATCH = 500

Filter = str | Sequence[str] | None


# --- counts, queues, workers ---------------------------------------------------------


def status_counts(*, runtime: Runtime | None = None) -> dict[str, Any]:
    """Job counts: ``{"total": N, "by_status": {status: n}, "by_queue": {queue: {status: n}}}``."""
    by_status: dict[str, int] = {}
    by_queue: dict[str, dict[str, int]] = {}
    total = 0
    for _, record in _scan(runtime or get_runtime(), ("queue", "status")):
        status = record.get("status") or "unknown"
        queue = record.get("queue") or "unknown"
        total += 1
        by_status[status] = by_status.get(status, 0) + 1
        per_queue = by_queue.setdefault(queue, {})
        per_queue[status] = per_queue.get(status, 0) + 1
    return {"total": total, "by_status": dict(sorted(by_status.items())),
            "by_queue": {q: dict(sorted(c.items())) for q, c in sorted(by_queue.items())}}


def list_queues(*, runtime: Runtime | None = None) -> list[dict[str, Any]]:
    """Every known queue: ``{"name", "size", "paused", "kind"}``.

    ``size`` counts waiting ids (raw items for a raw queue); ``kind`` is the
    raw queue kind (``list``, ``set``, ``sorted``, ``timed``) or None for a
    regular queue; ``paused`` is true when the queue or its subqueue root is paused.
    """
    from .queues import paused_queues, queue_size
    from .raw import is_raw_queue, raw_queue_for
    runtime = runtime or get_runtime()
    paused = set(paused_queues(runtime=runtime))
    out = []
    for name in runtime.store.known_queues():
        roots = {name[:i + 1] for i, ch in enumerate(name) if ch == "/"}
        out.append({"name": name, "size": queue_size(name, runtime=runtime),
                    "paused": name in paused or bool(roots & paused),
                    "kind": raw_queue_for(name, runtime).kind if is_raw_queue(name) else None})
    return out


def list_workers(*, runtime: Runtime | None = None) -> list[dict[str, Any]]:
    """Workers with a heartbeat entry, newest first.

    Each: ``id``, ``alive`` (heartbeat within ``worker_lost_after``),
    ``last_heartbeat``, ``inflight`` (jobs it holds), and its last report:
    ``status``, ``pid``, ``host``, ``queues`` (list), ``greenlets``,
    ``jobs_done``, ``current_jobs`` (list), ``rss_mb``, ``started``.
    """
    runtime = runtime or get_runtime()
    now = time.time()
    lost_after = float(runtime.config.worker_lost_after)
    entries = sorted(runtime.store.worker_heartbeats().items(), key=lambda e: e[1], reverse=True)
    reports = runtime.store.worker_reports([worker_id for worker_id, _ in entries])
    out = []
    for (worker_id, heartbeat), (report, inflight) in zip(entries, reports):
        row: dict[str, Any] = {"id": worker_id, "alive": heartbeat >= now - lost_after,
                               "last_heartbeat": heartbeat, "inflight": int(inflight)}
        for name in ("status", "host"):
            row[name] = report.get(name)
        for name in ("pid", "greenlets", "jobs_done"):
            row[name] = int(report[name]) if report.get(name) else None
        for name in ("rss_mb", "started"):
            row[name] = float(report[name]) if report.get(name) else None
        for name in ("queues", "current_jobs"):
            row[name] = [v for v in (report.get(name) or "").split(",") if v]
        out.append(row)
    return out


# --- jobs --------------------------------------------------------------------------


def find_jobs(status: Filter = None, queue: Filter = None, path: Filter = None,
              exceptiontype: Filter = None, worker: Filter = None, limit: int | None = 100,
              *, runtime: Runtime | None = None) -> list[dict[str, Any]]:
    """Jobs matching the filters, most recently updated first, at most ``limit`` (None: all).

    Each row: ``id`` and the ``SUMMARY_FIELDS`` present in the record (dates
    as epoch floats, ``retry_count`` as int).
    """
    matcher = _Matcher(status=status, queue=queue, path=path, exceptiontype=exceptiontype, worker=worker)
    rows = [_summary(job_id, record) for job_id, record in _scan(runtime or get_runtime(), SUMMARY_FIELDS)
            if matcher(record)]
    rows.sort(key=lambda row: row.get("dateupdated") or 0.0, reverse=True)
    return rows if limit is None else rows[:max(0, int(limit))]


def requeue_jobs(status: Filter = None, queue: Filter = None, path: Filter = None,
                 exceptiontype: Filter = None, worker: Filter = None, limit: int | None = None,
                 *, note: str = "requeued by admin", runtime: Runtime | None = None) -> dict[str, Any]:
    """Queue the matching jobs again (``requeue.lua``): ``{"requeued": [ids], "skipped": [ids]}``.

    At least one filter is required. Queued and started jobs are skipped (a
    started job belongs to its worker; lost ones come back through recovery).
    Each requeued record keeps its history and gets ``note`` in ``requeue_history``.
    """
    runtime = runtime or get_runtime()
    rows = _select("requeue_jobs", runtime, status, queue, path, exceptiontype, worker, limit)
    now = time.time()
    requeued, skipped = [], []
    for row in rows:
        if row.get("status") not in ("queued", "started") and runtime.store.requeue(row["id"], now, note=note):
            requeued.append(row["id"])
        else:
            skipped.append(row["id"])
    runtime.metric("admin.requeued", len(requeued))
    return {"requeued": requeued, "skipped": skipped}


def cancel_jobs(status: Filter = None, queue: Filter = None, path: Filter = None,
                exceptiontype: Filter = None, worker: Filter = None, limit: int | None = None,
                *, runtime: Runtime | None = None) -> dict[str, Any]:
    """Cancel the matching jobs (``cancel.lua``).

    Returns ``{"cancelled": [ids], "cancel_requested": [ids], "skipped": [ids]}``:
    queued and retry jobs are cancelled and never run; started ones are only
    marked ``cancel_requested`` (MRQ's rule: a running job is not
    interrupted); jobs in other statuses are skipped. At least one filter is required.
    """
    runtime = runtime or get_runtime()
    rows = _select("cancel_jobs", runtime, status, queue, path, exceptiontype, worker, limit)
    now = time.time()
    out: dict[str, list[str]] = {"cancelled": [], "cancel_requested": [], "skipped": []}
    for row in rows:
        if row.get("status") not in ("queued", "retry", "started"):
            out["skipped"].append(row["id"])
            continue
        ttl = int(runtime.tasks.settings(row.get("path", ""))["cancel_ttl"])
        before = runtime.store.cancel(row["id"], now, ttl)
        if before in ("queued", "retry"):
            out["cancelled"].append(row["id"])
        elif before == "started":
            out["cancel_requested"].append(row["id"])
        else:
            out["skipped"].append(row["id"])
    runtime.metric("admin.cancelled", len(out["cancelled"]))
    return out


# --- helpers -----------------------------------------------------------------------


class _Matcher:
    """AND of the given filters; each filter is any-of its values, globs allowed."""

    def __init__(self, **filters: Filter) -> None:
        self.filters: list[tuple[str, list[str]]] = []
        for name, value in filters.items():
            if value is None or value == [] or value == ():
                continue
            values = [value] if isinstance(value, str) else [str(v) for v in value]
            self.filters.append((name, values))

    def __bool__(self) -> bool:
        return bool(self.filters)

    def __call__(self, record: dict[str, str]) -> bool:
        for name, values in self.filters:
            actual = record.get(name)
            if actual is None or not any(_match(actual, v) for v in values):
                return False
        return True


def _match(actual: str, wanted: str) -> bool:
    if "*" in wanted or "?" in wanted or "[" in wanted:
        return fnmatch.fnmatchcase(actual, wanted)
    return actual == wanted


def _select(what: str, runtime: Runtime, status: Filter, queue: Filter, path: Filter,
            exceptiontype: Filter, worker: Filter, limit: int | None) -> list[dict[str, Any]]:
    if not _Matcher(status=status, queue=queue, path=path, exceptiontype=exceptiontype, worker=worker):
        raise ValueError(f"{what}() needs at least one filter ({', '.join(FILTERS)}); "
                         "acting on every job at once is almost never meant")
    return find_jobs(status, queue, path, exceptiontype, worker, limit, runtime=runtime)


def _scan(runtime: Runtime, fields: Sequence[str]) -> Iterator[tuple[str, dict[str, str]]]:
    """Every job record's ``fields``, read in batches; records gone meanwhile are skipped."""
    batch: list[str] = []

    def flush() -> Iterator[tuple[str, dict[str, str]]]:
        for job_id, record in zip(batch, runtime.store.get_many(batch, fields)):
            if record:
                yield job_id, record

    for job_id in runtime.store.iter_ids():
        batch.append(job_id)
        if len(batch) >= _SCAN_BATCH:
            yield from flush()
            batch = []
    if batch:
        yield from flush()


def _summary(job_id: str, record: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {"id": job_id}
    for name in SUMMARY_FIELDS:
        if name not in record:
            continue
        value: Any = record[name]
        if name in _DATES:
            value = float(value)
        elif name == "retry_count":
            value = int(value)
        row[name] = value
    return row
