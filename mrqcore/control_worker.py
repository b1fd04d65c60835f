"""The worker's side of remote control: a service that answers ``mrqcore.control`` broadcasts.

Every ``Worker`` runs one ``ControlService`` (``worker.control``) beside its
job loop. It listens on the store's request channel, runs the commands meant
for this worker, and publishes each reply as plain data about the worker: it
knows nothing of Celery (the compat layer turns the data into Celery's reply
shapes, and adds the commands that are about Celery tasks, such as
``rate_limit``, with ``register``).

| command | arguments | reply |
|---|---|---|
| ``ping`` | | ``{"ok": "pong"}`` |
| ``active`` / ``reserved`` | | the jobs running / handed to the worker but not started: ``job_info`` dicts |
| ``scheduled`` | | ``[]``: jobs waiting for a time sit in the store's scheduled set, not in a worker |
| ``revoked`` | | the ids this worker was told to revoke (the last 50,000, for 3 hours) |
| ``registered`` | | task paths registered with the runtime |
| ``stats`` | | ``{"id", "name", "pid", "host", "uptime", "total": {path: count}, "pool": {...}, ...}`` |
| ``active_queues`` | | the queue names served, in order |
| ``query_task`` | ``ids`` | ``{id: ["active" or "reserved", job_info]}`` for the ids this worker holds |
| ``revoke`` | ``task_id``, ``terminate``, ``signal`` | remembers the ids, drops those not started; kills running ones with ``terminate`` |
| ``terminate`` | ``task_id``, ``signal`` | ``revoke`` with ``terminate`` |
| ``shutdown`` | | stops the worker gracefully (running jobs finish) |
| ``pool_grow`` / ``pool_shrink`` | ``n`` | ``n`` more / fewer jobs at once (gevent pool; a shrink lets running jobs end) |
| ``autoscale`` | ``max``, ``min`` | ``max`` jobs at once (mrqc does not scale between the two) |
| ``add_consumer`` / ``cancel_consumer`` | ``queue`` | serve / stop serving a queue (served last when added) |
| ``enable_events`` / ``disable_events`` | | nothing to do: job records always carry their events |

A command fails with ``{"error": "..."}`` (an unknown command, bad arguments,
a pool that cannot resize); a handler that raises never stops the service.
A revoked job dropped before it started, or killed, ends with status ``cancel``
(``JobRevoked``; the compat layer raises its own ``RevokedInterrupt`` instead,
see ``revoke_exception``).
"""
from __future__ import annotations

import fnmatch
import json
import logging
import os
import re
import socket
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any, Callable

import gevent

from .control import REQUEST_CHANNEL, worker_name
from .exceptions import JobInterrupt
from .middleware import Middleware
from .status import JobStatus

if TYPE_CHECKING:
    from .execution import RunningJob
    from .worker import Worker

logger = logging.getLogger("mrqc.control")

#: how many revoked ids a worker remembers, and for how long (Celery's REVOKES_MAX, REVOKE_EXPIRES)
REVOKED_MAX = 50_000
REVOKED_KEEP = 3 * 3600.0

__all__ = ["ControlService", "JobRevoked", "job_info", "REVOKED_MAX", "REVOKED_KEEP"]


class JobRevoked(JobInterrupt):
    """A revoked job, stopped by its worker before or while it ran: status ``cancel``."""

    status = JobStatus.CANCEL


def job_info(job: "RunningJob", worker: "Worker", started: bool) -> dict[str, Any]:
    """What remote control says about one job a worker holds (plain data, JSON-ready)."""
    record = job.record
    started_at = record.get("datestarted")
    return {"id": job.id, "path": job.task_path, "queue": record.get("queue", ""), "params": job.params,
            "time_start": float(started_at) if started and started_at else None,
            "worker": worker.id, "worker_pid": os.getpid(), "started": started}


class ControlService:
    """Answers remote-control commands for one worker. ``service`` is its loop (a worker service)."""

    def __init__(self, worker: "Worker") -> None:
        self.worker = worker
        self.name = worker_name(worker.id)
        #: revoked id -> when this worker heard of it (oldest first, at most REVOKED_MAX)
        self.revoked: OrderedDict[str, float] = OrderedDict()
        #: task path -> jobs of it this worker finished (``stats``'s ``total``)
        self.totals: dict[str, int] = {}
        #: builds the exception that stops a revoked job; the compat layer sets its own
        self.revoke_exception: Callable[[str], BaseException] = lambda job_id: JobRevoked(f"revoked: {job_id}")
        self.commands: dict[str, Callable[..., Any]] = {
            "ping": lambda **_: {"ok": "pong"},
            "active": lambda **_: self._jobs(started=True),
            "reserved": lambda **_: self._jobs(started=False),
            "scheduled": lambda **_: [],
            "revoked": lambda **_: self.revoked_ids(),
            "registered": lambda **_: self.worker.runtime.tasks.registry.names(),
            "stats": lambda **_: self.stats(),
            "active_queues": lambda **_: list(self.worker.queues),
            "query_task": self._query_task,
            "revoke": self.revoke,
            "terminate": lambda task_id, signal=None, **_: self.revoke(task_id, terminate=True, signal=signal),
            "shutdown": self._shutdown,
            "pool_grow": lambda n=1, **_: self._resize(+int(n), "pool will grow"),
            "pool_shrink": lambda n=1, **_: self._resize(-int(n), "pool will shrink"),
            "autoscale": self._autoscale,
            "add_consumer": self._add_consumer,
            "cancel_consumer": self._cancel_consumer,
            "enable_events": lambda **_: {"ok": "task events are always on: job records carry them"},
            "disable_events": lambda **_: {"ok": "task events cannot be turned off: job records carry them"},
        }
        _JobTotals.attach(worker)

    # --- the public side ----------------------------------------------------------------

    def register(self, command: str, handler: Callable[..., Any]) -> None:
        """Answer ``command`` with ``handler(**arguments)`` (its return value is the reply; JSON-ready)."""
        self.commands[command] = handler

    def matches(self, destination: list[str] | None, pattern: str | None, matcher: str | None) -> bool:
        """Whether a request with this destination/pattern is meant for this worker."""
        names = (self.worker.id, self.name)
        if destination is not None and not any(name in destination for name in names):
            return False
        if pattern:
            if matcher == "pcre":
                return any(re.search(pattern, name) for name in names)
            return any(fnmatch.fnmatchcase(name, pattern) for name in names)
        return True

    def handle(self, command: str, arguments: dict[str, Any]) -> Any:
        """Run one command; never raises (a failure is an ``{"error": ...}`` reply)."""
        handler = self.commands.get(command)
        if handler is None:
            return {"error": f"unknown command {command!r}; known: {', '.join(sorted(self.commands))}"}
        try:
            return handler(**arguments)
        except TypeError as exc:
            return {"error": f"bad arguments for {command}: {exc}"}
        except Exception as exc:  # noqa: BLE001 - a command must never end the service
            logger.exception("remote control command %s failed", command)
            return {"error": f"{command} failed: {type(exc).__name__}: {exc}"}

    def revoked_ids(self) -> list[str]:
        """The ids this worker remembers as revoked (oldest first)."""
        self._expire()
        return list(self.revoked)

    def revoke(self, task_id: str | list[str], terminate: bool = False, signal: Any = None,
               **_: Any) -> dict[str, str]:
        """Remember the ids; drop those handed over but not started; with ``terminate`` kill running ones."""
        ids = [task_id] if isinstance(task_id, str) else [str(one) for one in task_id or ()]
        now = time.time()
        for job_id in ids:
            self.revoked.pop(job_id, None)
            self.revoked[job_id] = now
        self._expire()
        reserved = {job.id for job in self.worker.reserved_jobs()}
        terminated = []
        for job_id in ids:
            if job_id in reserved or terminate:
                if self.worker.kill_job(job_id, self.revoke_exception(job_id)):
                    logger.warning("revoked job %s %s", job_id,
                                   "dropped before it started" if job_id in reserved else "terminated")
                    if job_id not in reserved:
                        terminated.append(job_id)
        if terminate:
            return {"ok": f"terminate: {', '.join(terminated)}" if terminated else "terminate: tasks unknown"}
        return {"ok": f"tasks {set(ids)} flagged as revoked"}

    def stats(self) -> dict[str, Any]:
        worker = self.worker
        report = worker.report()
        return {"id": worker.id, "name": self.name, "pid": os.getpid(), "host": socket.gethostname(),
                "uptime": round(time.time() - report["started"]), "total": dict(self.totals),
                "jobs_done": worker.jobs_done, "status": worker.status, "queues": list(worker.queues),
                "pool": {"implementation": worker.pool.name, "max-concurrency": worker.greenlets,
                         "processes": [os.getpid()]},
                "prefetch_count": worker.greenlets, "rss_mb": report["rss_mb"],
                "store": type(worker.store).__name__}

    def service(self) -> None:
        """The worker service: listen, answer, and listen again after a lost connection."""
        store = self.worker.store
        while True:
            subscription = None
            try:
                subscription = store.subscribe(REQUEST_CHANNEL)
                while True:
                    message = subscription.get(1.0)
                    if message is not None:
                        self._serve(message)
            except gevent.GreenletExit:
                raise
            except Exception as exc:  # noqa: BLE001 - the store went away: listen again
                logger.warning("remote control listener: %s; listening again in 1s", exc)
                gevent.sleep(1.0)
            finally:
                if subscription is not None:
                    subscription.close()

    # --- helpers ------------------------------------------------------------------------

    def _serve(self, message: str) -> None:
        try:
            request = json.loads(message)
            command, arguments = request["command"], request.get("arguments") or {}
            if not isinstance(arguments, dict):
                raise TypeError("arguments is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            logger.warning("ignored a malformed remote control request (%s): %.200r", exc, message)
            return
        if not self.matches(request.get("destination"), request.get("pattern"), request.get("matcher")):
            return
        reply = self.handle(str(command), arguments)
        reply_to = request.get("reply_to")
        if reply_to:
            try:
                payload = json.dumps({"id": request.get("id"), "worker": self.worker.id, "reply": reply},
                                     default=str)
                self.worker.store.publish(str(reply_to), payload)
            except self.worker.store.backend_errors as exc:
                logger.warning("could not send the reply to %s (%s)", command, exc)

    def _jobs(self, started: bool) -> list[dict[str, Any]]:
        worker = self.worker
        reserved = {job.id for job in worker.reserved_jobs()}
        return [job_info(job, worker, started=not (job.id in reserved))
                for job in worker.running_jobs() if (job.id in reserved) != started]

    def _query_task(self, ids: Any = (), **_: Any) -> dict[str, Any]:
        wanted = {ids} if isinstance(ids, str) else set(ids or ())
        found = {}
        for info in self._jobs(started=True) + self._jobs(started=False):
            if info["id"] in wanted:
                found[info["id"]] = ["active" if info["started"] else "reserved", info]
        return found

    def _shutdown(self, msg: str = "Got shutdown from remote", **_: Any) -> dict[str, str]:
        logger.warning("%s", msg)
        self.worker.stop("remote control: shutdown")
        return {"ok": "shutting down"}

    def _resize(self, delta: int, done: str) -> dict[str, str]:
        size = self.worker.greenlets + delta
        if size < 1:
            return {"error": f"cannot shrink below 1 (the pool runs {self.worker.greenlets})"}
        self.worker.resize(size)
        return {"ok": done}

    def _autoscale(self, max: Any = None, min: Any = None, **_: Any) -> dict[str, str]:  # noqa: A002
        size = int(max)
        if size < 1:
            return {"error": f"autoscale max must be >= 1, got {max!r}"}
        self.worker.resize(size)
        return {"ok": f"autoscale now max={size} min={min}"}

    def _add_consumer(self, queue: str, **_: Any) -> dict[str, str]:
        if queue not in self.worker.queues:
            self.worker.set_queues([*self.worker.queues, queue])
        return {"ok": f"add consumer {queue}"}

    def _cancel_consumer(self, queue: str, **_: Any) -> dict[str, str]:
        if queue in self.worker.queues:
            self.worker.set_queues([name for name in self.worker.queues if name != queue])
        return {"ok": f"no longer consuming from {queue}"}

    def _expire(self) -> None:
        cutoff = time.time() - REVOKED_KEEP
        while self.revoked and (len(self.revoked) > REVOKED_MAX or next(iter(self.revoked.values())) < cutoff):
            self.revoked.popitem(last=False)


class _JobTotals(Middleware):
    """Counts each worker's finished jobs by task, for ``stats`` (one instance per runtime)."""

    def after_perform(self, job: "RunningJob", status: str, result: Any, exc: BaseException | None) -> None:
        control = getattr(job.worker, "control", None)
        if isinstance(control, ControlService):
            control.totals[job.task_path] = control.totals.get(job.task_path, 0) + 1

    @classmethod
    def attach(cls, worker: "Worker") -> None:
        middleware = worker.runtime.middleware
        if not any(isinstance(item, cls) for item in middleware):
            middleware.register(cls())
