"""``mrqc worker --metrics-port N``: Prometheus metrics and a health probe on one HTTP port.

Needs the ``prometheus-client`` library (``pip install 'mrqc[metrics]'``),
imported only when a port is asked for. Paths:

* ``/metrics``: Prometheus text format (the names are in ``METRIC_NAMES`` and
  docs/operations.md);
* ``/healthz``: ``200 ok`` while the worker's last heartbeat is recent and the
  store answers a ping; ``503`` with the reason otherwise.

One process (``mrqc worker``): the worker serves the port itself (a worker
service). ``--processes N``: each child counts into files in
``$PROMETHEUS_MULTIPROC_DIR`` (prometheus-client's multiprocess mode; the
supervisor makes a temporary folder when the variable is not set) and the
supervisor serves the port, adding the children's files up; its ``/healthz``
is 200 while the store answers and at least one of its children has a fresh
heartbeat in the store's worker registry.

Queue lengths and the scheduled-set size are read from the store when
scraped (``store.known_queues``/``queue_size``/``scheduled_count``).
"""
from __future__ import annotations

import glob
import logging
import os
import tempfile
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from .exceptions import ConfigError
from .middleware import Middleware
from .status import JobStatus

if TYPE_CHECKING:
    from .execution import RunningJob
    from .runtime import Runtime
    from .worker import Worker

__all__ = ("METRIC_NAMES", "JobMetrics", "StoreCollector", "MetricsServer", "serve_worker_metrics",
           "prepare_multiprocess", "serve_supervisor_metrics", "worker_health", "prometheus")

logger = logging.getLogger("mrqc.metrics")

#: every metric mrqc exports (the Prometheus names; counters get ``_total`` appended on the wire)
METRIC_NAMES = {
    "mrqc_jobs": "counter {task, queue, status}: jobs that ended for good (success, failed, maxretries, ...)",
    "mrqc_job_retries": "counter {task, queue}: failed tries that will be retried",
    "mrqc_job_duration_seconds": "histogram {task}: run time of each try",
    "mrqc_jobs_in_progress": "gauge: jobs the worker(s) hold right now",
    "mrqc_greenlets_busy": "gauge: runner greenlets busy",
    "mrqc_greenlets": "gauge: runner greenlets in all",
    "mrqc_worker_rss_bytes": "gauge {pid}: resident memory of each worker process",
    "mrqc_queue_length": "gauge {queue}: jobs waiting on each known queue (read from the store)",
    "mrqc_scheduled_jobs": "gauge: jobs waiting for a time (retry delay, countdown, ETA; from the store)",
    "mrqc_store_up": "gauge: 1 when the store answered this scrape's reads, else 0",
}
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_FINAL = JobStatus.FINAL


def prometheus() -> Any:
    """The ``prometheus_client`` module, or a ConfigError saying which extra to install."""
    try:
        import prometheus_client
    except ImportError as exc:
        raise ConfigError("metrics_port", "Prometheus metrics need the prometheus-client library: "
                                          "pip install 'mrqc[metrics]'") from exc
    return prometheus_client


class JobMetrics(Middleware):
    """Counts outcomes and run times (a middleware), and samples the worker's gauges.

    Built in the process that runs the jobs; in multiprocess mode its values
    go to that folder's files (the environment variable must be set before
    ``prometheus_client`` is first imported: ``prepare_multiprocess`` does).
    """

    def __init__(self, registry: Any = None) -> None:
        prom = prometheus()
        kw: dict[str, Any] = {"registry": registry} if registry is not None else {}
        self.jobs = prom.Counter("mrqc_jobs", METRIC_NAMES["mrqc_jobs"], ["task", "queue", "status"], **kw)
        self.retries = prom.Counter("mrqc_job_retries", METRIC_NAMES["mrqc_job_retries"], ["task", "queue"], **kw)
        self.duration = prom.Histogram("mrqc_job_duration_seconds", METRIC_NAMES["mrqc_job_duration_seconds"],
                                       ["task"], **kw)
        self.in_progress = prom.Gauge("mrqc_jobs_in_progress", METRIC_NAMES["mrqc_jobs_in_progress"],
                                      multiprocess_mode="livesum", **kw)
        self.busy = prom.Gauge("mrqc_greenlets_busy", METRIC_NAMES["mrqc_greenlets_busy"],
                               multiprocess_mode="livesum", **kw)
        self.greenlets = prom.Gauge("mrqc_greenlets", METRIC_NAMES["mrqc_greenlets"],
                                    multiprocess_mode="livesum", **kw)
        self.rss = prom.Gauge("mrqc_worker_rss_bytes", METRIC_NAMES["mrqc_worker_rss_bytes"],
                              multiprocess_mode="liveall", **kw)
        self.worker: "Worker | None" = None
        import psutil
        self._process = psutil.Process()

    def attach(self, worker: "Worker") -> None:
        """Count ``worker``'s jobs, and sample its gauges now and then (a worker service)."""
        self.worker = worker
        worker.runtime.middleware.register(self)
        worker.add_service(self._sampler)

    def after_perform(self, job: "RunningJob", status: str, result: Any, exc: BaseException | None) -> None:
        task, queue = job.task_path or "-", job.data.get("queue") or "-"
        self.duration.labels(task).observe(job.duration)
        if status == JobStatus.RETRY:
            self.retries.labels(task, queue).inc()
        elif status in _FINAL:
            self.jobs.labels(task, queue, str(status)).inc()

    def sample(self) -> None:
        """Read the worker's in-flight jobs, busy greenlets and memory into the gauges."""
        worker = self.worker
        if worker is None:
            return
        running = len(worker.running_jobs())
        self.in_progress.set(running)
        self.busy.set(running)
        self.greenlets.set(worker.greenlets)
        self.rss.set(self._process.memory_info().rss)

    def _sampler(self) -> None:
        import gevent
        interval = min(1.0, float(self.worker.runtime.config.heartbeat_interval)) if self.worker else 1.0
        while True:
            try:
                self.sample()
            except Exception:  # a gauge is never worth a worker
                logger.exception("sampling worker gauges failed")
            gevent.sleep(interval)


class StoreCollector:
    """A prometheus-client collector reading queue lengths and the scheduled-set size when scraped."""

    def __init__(self, runtime: "Runtime") -> None:
        self.runtime = runtime

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import GaugeMetricFamily
        store = self.runtime.store
        up = GaugeMetricFamily("mrqc_store_up", METRIC_NAMES["mrqc_store_up"])
        try:
            lengths = {queue: store.queue_size(queue) for queue in store.known_queues()}
            scheduled = store.scheduled_count()
        except store.backend_errors as exc:
            logger.warning("metrics: store unreadable (%s)", exc)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        queues = GaugeMetricFamily("mrqc_queue_length", METRIC_NAMES["mrqc_queue_length"], labels=["queue"])
        for queue, size in sorted(lengths.items()):
            queues.add_metric([queue], size)
        yield queues
        yield GaugeMetricFamily("mrqc_scheduled_jobs", METRIC_NAMES["mrqc_scheduled_jobs"], value=scheduled)


def worker_health(worker: "Worker") -> tuple[bool, str]:
    """``(healthy, reason)``: a recent heartbeat written by ``worker`` and a store that answers a ping."""
    interval = float(worker.runtime.config.heartbeat_interval)
    last = worker.last_heartbeat
    if last is None:
        return False, "no heartbeat written yet"
    age = time.time() - last
    if age > max(3 * interval, interval + 2.0):
        return False, f"last heartbeat {age:.1f}s ago"
    return _ping(worker.runtime)


def _ping(runtime: "Runtime") -> tuple[bool, str]:
    store = runtime.store
    try:
        store.ping()
    except store.backend_errors as exc:
        return False, f"store unreachable: {exc}"
    return True, "ok"


class MetricsServer:
    """The HTTP server of ``/metrics`` and ``/healthz`` (a gevent WSGI server)."""

    def __init__(self, port: int, registry: Any, health: Callable[[], tuple[bool, str]],
                 before_scrape: Callable[[], None] | None = None, host: str = "0.0.0.0") -> None:
        from gevent.pywsgi import WSGIServer
        self.registry = registry
        self.health = health
        self.before_scrape = before_scrape
        self.server = WSGIServer((host, port), self._app, log=None, error_log=logger)

    @property
    def port(self) -> int:
        return int(self.server.server_port)

    def start(self) -> None:
        self.server.start()

    def stop(self) -> None:
        self.server.stop(timeout=1)

    def close(self) -> None:
        """Close the listening socket without serving anything more (a forked child's copy)."""
        self.server.close()

    def serve(self) -> None:
        """Run until killed (a worker service)."""
        try:
            self.server.serve_forever()
        finally:
            self.server.stop(timeout=1)

    def _app(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "/")
        if path in ("/healthz", "/health"):
            try:
                ok, reason = self.health()
            except Exception as exc:  # a health check that breaks is unhealthy, never a 500
                ok, reason = False, f"{type(exc).__name__}: {exc}"
            body = (reason + "\n").encode()
            start_response("200 OK" if ok else "503 Service Unavailable",
                           [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
            return [body]
        if path in ("/metrics", "/"):
            from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
            if self.before_scrape is not None:
                self.before_scrape()
            body = generate_latest(self.registry)
            start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
            return [body]
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found: try /metrics or /healthz\n"]


def serve_worker_metrics(worker: "Worker", port: int) -> MetricsServer:
    """One-process mode: count ``worker``'s jobs and serve the port from it (as a worker service)."""
    prom = prometheus()
    registry = prom.CollectorRegistry()
    metrics = JobMetrics(registry)
    metrics.attach(worker)
    registry.register(StoreCollector(worker.runtime))
    server = MetricsServer(port, registry, lambda: worker_health(worker), before_scrape=metrics.sample)
    server.start()  # bind now: a port in use is an error at start, not later
    worker.add_service(server.serve)
    logger.info("metrics on :%d (/metrics, /healthz)", server.port)
    return server


def prepare_multiprocess() -> str | None:
    """Set up ``$PROMETHEUS_MULTIPROC_DIR`` and empty it; returns the folder if it made one (else None).

    Unset: a fresh temporary folder (the caller removes it at exit). Call
    before ``prometheus_client`` is imported (it reads the variable then) and
    before forking children.
    """
    directory, made = os.environ.get(MULTIPROC_ENV), None
    if not directory:
        directory = made = tempfile.mkdtemp(prefix="mrqc-prometheus-")
        os.environ[MULTIPROC_ENV] = directory
    os.makedirs(directory, exist_ok=True)
    for path in glob.glob(os.path.join(directory, "*.db")):  # counts of an earlier run
        os.unlink(path)
    return made


def serve_supervisor_metrics(runtime: "Runtime", port: int, children: Callable[[], set[int]]) -> MetricsServer:
    """``--processes`` mode: the supervisor adds up its children's files and serves the port."""
    prom = prometheus()
    from prometheus_client import multiprocess
    registry = prom.CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    registry.register(StoreCollector(runtime))
    directory = os.environ[MULTIPROC_ENV]

    def forget_dead() -> None:
        live = children()
        for path in glob.glob(os.path.join(directory, "gauge_live*_*.db")):
            pid = path.rsplit("_", 1)[-1][:-3]
            if pid.isdigit() and int(pid) not in live:
                multiprocess.mark_process_dead(int(pid), directory)

    server = MetricsServer(port, registry, lambda: _children_health(runtime, children), before_scrape=forget_dead)
    server.start()
    logger.info("metrics of %s on :%d (/metrics, /healthz)", directory, server.port)
    return server


def _children_health(runtime: "Runtime", children: Callable[[], set[int]]) -> tuple[bool, str]:
    ok, reason = _ping(runtime)
    if not ok:
        return ok, reason
    import socket
    store, live, host = runtime.store, children(), socket.gethostname()
    interval = float(runtime.config.heartbeat_interval)
    beats = store.worker_heartbeats()
    ids = list(beats)
    for worker_id, (report, _) in zip(ids, store.worker_reports(ids)):
        if report.get("host") == host and report.get("pid", "").isdigit() and int(report["pid"]) in live \
                and time.time() - beats[worker_id] <= max(3 * interval, interval + 2.0):
            return True, "ok"
    return False, "no worker process of this supervisor has a recent heartbeat"
