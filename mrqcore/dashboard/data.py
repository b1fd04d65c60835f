"""What the dashboard shows, as JSON-ready dicts: read through the store and ``mrqcore.admin`` only.

Every function takes the runtime and returns plain values (dates as epoch
seconds). The job list reads the store's job index (``store.job_index_page``),
never a scan of every record, so a page costs the same with 1,000,000 jobs
stored as with 100; filters the index cannot answer (queue, task, exception
type, worker, text in params) are applied to the records read, over at most
``SCAN_BUDGET`` index entries per request: the answer then says where to
continue (``next_cursor``). Flask is not imported here.
"""
from __future__ import annotations

import fnmatch
import json
import shlex
import time
from dataclasses import dataclass, fields as dc_fields
from typing import Any

from .. import admin, serialization
from ..runtime import Runtime
from ..status import JobStatus
from .labels import labels_for

#: statuses with their own index (``jobidx:{status}``); others are filtered from the index of all jobs
INDEXED_STATUSES = tuple(s.value for s in JobStatus if s.is_final or s is JobStatus.RETRY)
#: statuses counted as failures on the failures page and in the throughput chart
FAILURE_STATUSES = ("failed", "timeout", "maxretries", "interrupt")
#: most index entries one job-list request reads while filtering
SCAN_BUDGET = 2_000
#: rows a job-list page may ask for
MAX_LIMIT = 500
#: record fields of a job-list row
ROW_FIELDS = ("path", "queue", "status", "worker", "exceptiontype", "retry_count", "progress",
              "datequeued", "datestarted", "dateupdated", "datedone")
_DATES = ("datequeued", "datestarted", "dateupdated", "datedone", "cancel_requested")
_NUMBERS = {"retry_count": int, "progress": float}
_JSON = ("params", "result", "traceback_history", "requeue_history", "meta", "exc_info", "children")


@dataclass(frozen=True)
class JobFilter:
    """Job-list filters; empty strings mean "any". ``path``/``queue``/``exceptiontype``/``worker``
    take globs (``app.tasks.*``); ``text`` is a substring of the params' JSON."""

    status: str = ""
    queue: str = ""
    path: str = ""
    exceptiontype: str = ""
    worker: str = ""
    id: str = ""
    text: str = ""

    @classmethod
    def from_mapping(cls, values: Any) -> "JobFilter":
        """From query arguments or a JSON body; ``ValueError`` names an unknown status."""
        out = cls(**{f.name: str(values.get(f.name) or "").strip() for f in dc_fields(cls)})
        if out.status:
            JobStatus.parse(out.status)
        return out

    def admin_filters(self) -> dict[str, str]:
        """The filters ``mrqcore.admin`` understands (bulk actions); ValueError for ``id``/``text``."""
        if self.id or self.text:
            raise ValueError("bulk actions filter by status, queue, path, exceptiontype and worker "
                             "(not id or text); act on one job from its page")
        return {name: value for name in admin.FILTERS if (value := getattr(self, name))}

    def record_filtered(self, index: str | None) -> bool:
        """True when records must be read to filter (beyond what the index ``index`` answers)."""
        return bool(self.queue or self.path or self.exceptiontype or self.worker or self.text
                    or (self.status and self.status != index))

    def fields_read(self) -> tuple[str, ...]:
        """The record fields ``matches`` looks at."""
        names = [name for name in ("status", "queue", "path", "exceptiontype", "worker") if getattr(self, name)]
        return tuple(names + (["params"] if self.text else []))

    def matches(self, record: dict[str, str]) -> bool:
        for name in ("status", "queue", "path", "exceptiontype", "worker"):
            wanted = getattr(self, name)
            if wanted and not _match(record.get(name), wanted):
                return False
        return not self.text or self.text in record.get("params", "")


def jobs_page(runtime: Runtime, filters: JobFilter, cursor: int = 0, limit: int = 50) -> dict[str, Any]:
    """One page of jobs, newest first: ``{"jobs": [row], "next_cursor": int | None, "scanned": n}``.

    ``cursor`` is an index position (0: newest; a previous answer's
    ``next_cursor``). ``next_cursor`` is None when the index is exhausted.
    """
    limit = max(1, min(int(limit), MAX_LIMIT))
    if filters.id:
        record = runtime.store.get(filters.id, ROW_FIELDS + ("params",))
        rows = [_row(filters.id, record)] if record and filters.matches(record) else []
        return {"jobs": rows, "next_cursor": None, "scanned": 1}
    index = filters.status if filters.status in INDEXED_STATUSES else None
    # While filtering, read only the fields the filters look at; the rows' fields come after.
    scan = filters.fields_read() if filters.record_filtered(index) else ROW_FIELDS
    found: list[tuple[str, dict[str, str]]] = []
    offset, scanned, next_cursor = max(0, int(cursor)), 0, None
    while scanned < SCAN_BUDGET:
        chunk = min(max(limit * 2, 500), SCAN_BUDGET - scanned)
        page, nxt = runtime.store.job_index_page(index, offset, chunk, scan)
        scanned += chunk
        for position, (job_id, record) in enumerate(page):
            if filters.matches(record):
                found.append((job_id, record))
                if len(found) == limit:
                    next_cursor = offset + position + 1
                    break
        if len(found) == limit:
            break
        if nxt is None:  # the index ended within this chunk
            next_cursor = None
            break
        offset = next_cursor = nxt
    if scan is not ROW_FIELDS:
        records = runtime.store.get_many([job_id for job_id, _ in found], ROW_FIELDS)
        found = [(job_id, record) for (job_id, _), record in zip(found, records) if record]
    return {"jobs": [_row(job_id, record) for job_id, record in found], "next_cursor": next_cursor,
            "scanned": scanned}


def job_detail(runtime: Runtime, job_id: str) -> dict[str, Any] | None:
    """Everything about one job: its record (decoded), log lines, Celery label, parent/children
    ids and the ``mrqc run`` line that replays it. None if there is no such job."""
    record = runtime.store.get(job_id)
    if record is None:
        return None
    job: dict[str, Any] = {"id": job_id}
    for name, value in sorted(record.items()):
        job[name] = _decode(name, value)
    meta = job.get("meta") if isinstance(job.get("meta"), dict) else {}
    children = job.get("children") or meta.get("children") or []
    params = job.get("params") if isinstance(job.get("params"), dict) else {}
    run_line = f"mrqc run {shlex.quote(str(job.get('path', '')))} {shlex.quote(json.dumps(params, default=str))}"
    return {"job": job, "labels": labels_for(record.get("status", "")),
            "log_lines": runtime.store.log_lines(job_id), "parent_id": meta.get("parent_id"),
            "children": [c if isinstance(c, str) else str(c) for c in children] if isinstance(children, list) else [],
            "run_line": run_line}


def overview(runtime: Runtime, now: float | None = None) -> dict[str, Any]:
    """Status counts, throughput per minute over the last hour, queues and a worker summary."""
    now = time.time() if now is None else now
    store = runtime.store
    queues = admin.list_queues(runtime=runtime)
    workers = admin.list_workers(runtime=runtime)
    counts = {"queued": sum(q["size"] for q in queues if not q["kind"]),
              "started": sum(w["inflight"] for w in workers if w["alive"])}
    for status in INDEXED_STATUSES:
        counts[status] = store.job_index_size(status)
    start = (now // 60 - 59) * 60
    edges = [start + 60 * i for i in range(61)]
    failed = [0] * 60
    for status in FAILURE_STATUSES:
        failed = [a + b for a, b in zip(failed, store.job_index_counts(status, edges))]
    return {"now": now, "counts": counts, "labels": {s: labels_for(s) for s in counts},
            "total": store.job_index_size(None),
            "throughput": {"minutes": edges[:-1], "queued": store.job_index_counts(None, edges),
                           "success": store.job_index_counts("success", edges), "failed": failed},
            "queues": queues,
            "workers": {"alive": sum(1 for w in workers if w["alive"]),
                        "lost": sum(1 for w in workers if not w["alive"])}}


def queues(runtime: Runtime) -> dict[str, Any]:
    """Every queue (size, paused, raw kind), paused names, and jobs waiting for a time (retries, ETA)."""
    scheduled = 0
    for scheduled, _ in enumerate(runtime.store.scheduled_ids(), 1):
        if scheduled > 10_000:
            break
    from ..queues import paused_queues
    return {"queues": admin.list_queues(runtime=runtime), "paused": paused_queues(runtime=runtime),
            "scheduled": min(scheduled, 10_000), "scheduled_capped": scheduled > 10_000}


def workers(runtime: Runtime) -> dict[str, Any]:
    """``mrqcore.admin.list_workers`` rows, each current job with its task, progress and start time."""
    rows = admin.list_workers(runtime=runtime)
    ids = [job_id for row in rows for job_id in row["current_jobs"]]
    records = dict(zip(ids, runtime.store.get_many(ids, ("path", "progress", "datestarted", "status"))))
    for row in rows:
        row["current_jobs"] = [_row(job_id, records.get(job_id) or {}) for job_id in row["current_jobs"]]
    return {"workers": rows}


def failures(runtime: Runtime, sample: int = 1000) -> dict[str, Any]:
    """The latest ``sample`` failures of each failure status, grouped by task, exception type and status."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for status in FAILURE_STATUSES:
        page, _ = runtime.store.job_index_page(status, 0, sample, ("path", "exceptiontype", "dateupdated"))
        for job_id, record in page:
            key = (record.get("path", ""), record.get("exceptiontype", ""), status)
            group = groups.setdefault(key, {"path": key[0], "exceptiontype": key[1], "status": status,
                                            "labels": labels_for(status), "count": 0,
                                            "last_id": job_id, "last_date": 0.0})
            group["count"] += 1
            date = float(record.get("dateupdated") or 0)
            if date > group["last_date"]:
                group["last_id"], group["last_date"] = job_id, date
    return {"sample": sample, "groups": sorted(groups.values(), key=lambda g: (-g["count"], g["path"]))}


def schedule(runtime: Runtime, now: float | None = None) -> dict[str, Any]:
    """The periodic entries (``scheduler_tasks``): timing, last due run and its job's status, next run."""
    from ..scheduler import parse_entries
    now = time.time() if now is None else now
    entries = parse_entries(runtime.config.scheduler_tasks)
    last = [entry.last_run_at_or_before(now) for entry in entries]
    job_ids = [entry.job_id(due) for entry, due in zip(entries, last)]
    records = runtime.store.get_many(job_ids, ("status",))
    return {"entries": [
        {"id": entry.id, "path": entry.path, "queue": entry.queue, "params": dict(entry.params),
         "timing": entry.describe(), "last_due": due, "last_job_id": job_id,
         "last_status": (record or {}).get("status"), "next_run": entry.next_run_after(now)}
        for entry, due, job_id, record in zip(entries, last, job_ids, records)]}


def prune_indexes(runtime: Runtime, count: int = 200) -> int:
    """Drop index entries of expired records from the oldest end of each index (keeps counts honest)."""
    return sum(runtime.store.job_index_prune(status, count) for status in (None, *INDEXED_STATUSES))


# --- helpers -----------------------------------------------------------------------


def _match(actual: str | None, wanted: str) -> bool:
    if actual is None:
        return False
    if any(ch in wanted for ch in "*?["):
        return fnmatch.fnmatchcase(actual, wanted)
    return actual == wanted


def _row(job_id: str, record: dict[str, str]) -> dict[str, Any]:
    row: dict[str, Any] = {"id": job_id}
    for name in ROW_FIELDS:
        if name in record:
            row[name] = _decode(name, record[name])
    row["labels"] = labels_for(record.get("status", ""))
    return row


def _decode(name: str, value: str) -> Any:
    try:
        if name in _DATES:
            return float(value)
        if name in _NUMBERS:
            return _NUMBERS[name](value)
        if name in _JSON:
            return serialization.loads(value)
    except (ValueError, TypeError):
        pass
    return value

