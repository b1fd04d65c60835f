"""MRQ's settings, read as MRQ reads them: every name MRQ knows has one of three readings here.

MRQ's configuration (``mrq/config.py``) is its command-line arguments, the
``MRQ_<NAME>`` environment variables and the upper-case names of its config
file (``mrq-config.py`` in the working directory, or ``--config``), plus the
file-only ``TASKS``, ``SCHEDULER_TASKS``, ``RAW_QUEUES``... ``mrqcore.config``
reads ``mrq-config.py`` and ``MRQ_*`` too, and passes each MRQ name through
``read_mrq_name``:

* **same** (``SAME``): an mrqc setting with the same meaning (``GREENLETS``,
  ``DEFAULT_JOB_TIMEOUT`` -> ``timeout``, ``MAX_LATENCY`` -> ``poll_interval``...);
* **no effect** (``NO_EFFECT``): accepted and dropped, with the reason
  (``REDIS_MAX_CONNECTIONS``: redis-py pools connections);
* **refused** (``REFUSED``): it configures an MRQ feature mrqc does not have
  (MongoDB, the agent, the admin backdoor...); the error names the feature and
  says what to do. ``mrqcore.config`` reports every refused name of a source
  in one error, so a whole MRQ config file is reviewed in one run.

A name MRQ does not know gets mrqc's "unknown setting" error; from an MRQ
source it also says why (MRQ let a config file hold the project's own values,
mrqc does not). This module only describes names; it reads no file.
"""
from __future__ import annotations

from typing import Any

#: MRQ's config file name, looked for in the working directory (after mrqc's own ``mrqc_config.py``)
MRQ_CONFIG_FILE = "mrq-config.py"
#: prefix of MRQ's environment variables
MRQ_ENV_PREFIX = "MRQ_"

#: MRQ name -> the mrqc setting with the same meaning
SAME: dict[str, str] = {
    "redis": "redis", "redis_prefix": "redis_prefix", "name": "name", "queues": "queues",
    "greenlets": "greenlets", "gevent": "greenlets", "processes": "processes", "max_jobs": "max_jobs",
    "max_time": "max_time", "max_memory": "max_memory", "scheduler": "scheduler", "tasks": "tasks",
    "scheduler_tasks": "scheduler_tasks", "raw_queues": "raw_queues", "metric_hook": "metric_hook",
    "log_level": "log_level", "default_job_timeout": "timeout", "default_job_result_ttl": "result_ttl",
    "default_job_abort_ttl": "abort_ttl", "default_job_cancel_ttl": "cancel_ttl",
    "default_job_ttl": "default_ttl", "default_job_max_retries": "max_retries",
    "default_job_retry_delay": "retry_delay", "max_latency": "poll_interval",
    "report_interval": "heartbeat_interval",
}

#: MRQ names whose meaning differs by source: in MRQ's file or ``MRQ_*`` they are this mrqc setting
MRQ_SOURCE_ONLY: dict[str, str] = {
    "log_format": "log_worker_format",  # MRQ's is a %-format; mrqc's log_format is 'text' or 'json'
}

#: MRQ names accepted with no effect, and why
NO_EFFECT: dict[str, str] = {
    "redis_max_connections": "redis-py pools the connections",
    "redis_timeout": "redis-py pools the connections",
    "queue_ttl": "queue sizes are read from Redis directly, never cached",
    "scheduler_interval": "the scheduler wakes at the next due time",
    "subqueues_refresh_interval": "subqueues are looked up at each dequeue",
    "paused_queues_refresh_interval": "paused queues are read at each dequeue",
    "local_ip": "workers report their host name and pid",
    "external_ip": "workers report their host name and pid",
    "use_large_job_ids": "job ids are UUIDs",
    "no_import_patch": "deprecated in MRQ; mrqc patches nothing",
    "config": "the config file is the one being read",
    "version": "a command-line flag (mrqc --version)",
    "queue": "an mrq-run argument (mrqc run --queue)",
    "taskpath": "an mrq-run argument", "taskargs": "an mrq-run argument",
}

_MONGODB = ("MRQ's MongoDB storage", "mrqc keeps jobs, logs and worker reports in Redis (the `redis` setting); "
            "remove it (a MongoDB store is planned, docs/architecture.md)")
_AGENT = ("MRQ's agent (mrq-agent and worker groups)", "run `mrqc worker` under your process manager "
          "(systemd, k8s) with --processes N; remove it")
_TRACE = ("MRQ's tracing and profiling", "use the worker's Prometheus metrics (metrics_port, "
          "docs/operations.md) or a profiler around `mrqc worker`; remove it")

#: MRQ names mrqc refuses: (the MRQ feature, what to do)
REFUSED: dict[str, tuple[str, str]] = {
    "mongodb_jobs": _MONGODB, "mongodb": _MONGODB, "mongodb_logs": _MONGODB, "mongodb_logs_size": _MONGODB,
    "print_mongodb": _MONGODB, "ensure_indexes": _MONGODB, "no_mongodb_ensure_indexes": _MONGODB,
    "dashboard_httpauth": ("MRQ's dashboard HTTP auth",
                           "pass it to the dashboard command: `mrqc dashboard --auth user:password`"),
    "dashboard_port": ("MRQ's dashboard port", "`mrqc dashboard --port N`"),
    "dashboard_ip": ("MRQ's dashboard address", "`mrqc dashboard --host IP` (any address but loopback needs --auth)"),
    "dashboard_queue": ("MRQ's dashboard default queue", "remove it: the dashboard acts on the queue you pick"),
    "admin_port": ("MRQ's worker admin server (a gevent backdoor)",
                   "inspect workers with `mrqc workers` / `mrqc status` and metrics_port; remove it"),
    "admin_ip": ("MRQ's worker admin server (a gevent backdoor)", "remove it"),
    "worker_class": ("MRQ's custom worker class",
                     "add behaviour with middleware (the `middleware` setting) or a worker plugin "
                     "(entry point mrqc.worker_plugins); remove it"),
    "log_handler": ("MRQ's job log handler (MongoHandler)",
                    "job log lines are kept in Redis (log_lines_max); for other destinations configure "
                    "Python logging or middleware; remove it"),
    "log_handlers": ("MRQ's extra log handlers", "configure Python logging (log_hijack_root_logger=False keeps "
                                                 "your handlers); remove it"),
    "quiet": ("MRQ's --quiet (no task logs on the console)", "set log_level = 'WARNING'"),
    "supervisord_template": ("MRQ's supervisord template for --processes",
                             "mrqc supervises --processes itself; remove it"),
    "report_file": ("MRQ's JSON status file", "read `mrqc workers --json` or the /healthz endpoint "
                                              "(metrics_port); remove it"),
    "task_whitelist": ("MRQ's per-worker task whitelist", "route those tasks to their own queue "
                                                          "(TASKS[path]['queue']) and list it; remove it"),
    "task_blacklist": ("MRQ's per-worker task blacklist", "route those tasks to their own queue "
                                                          "(TASKS[path]['queue']) and leave it out; remove it"),
    "scheduled_tasks": ("a name MRQ's scheduler never read", "MRQ's scheduler reads SCHEDULER_TASKS: rename it"),
    "agent_id": _AGENT, "worker_id": _AGENT, "worker_group": _AGENT, "total_memory": _AGENT,
    "total_cpu": _AGENT, "orchestrate_interval": _AGENT, "autoscaling_taskpath": _AGENT,
    "trace_greenlets": _TRACE, "trace_memory": _TRACE, "trace_memory_type": _TRACE,
    "trace_memory_output_dir": _TRACE, "trace_io": _TRACE, "profile": _TRACE,
    "add_network_latency": ("MRQ's simulated network latency (a test aid)", "remove it"),
}

#: every name MRQ knows
MRQ_NAMES = frozenset(SAME) | frozenset(MRQ_SOURCE_ONLY) | frozenset(NO_EFFECT) | frozenset(REFUSED) \
    | {"dequeue_strategy", "subqueues_delimiter"}


def read_mrq_name(name: str, value: Any, mrq_source: bool) -> tuple[str, Any] | str | None:
    """What MRQ setting ``name`` (lower-case) with ``value`` is here.

    Returns ``(mrqc_name, value)`` for a setting with the same meaning, ``None``
    for one accepted with no effect, and a message (str: the MRQ feature and
    what to do) for one mrqc refuses. ``mrq_source`` says the name comes from
    ``mrq-config.py`` or ``MRQ_*`` (where ``LOG_FORMAT`` is MRQ's %-format).
    KeyError if MRQ does not know the name.
    """
    if mrq_source and name in MRQ_SOURCE_ONLY:
        return MRQ_SOURCE_ONLY[name], value
    if name in SAME:
        return SAME[name], value
    if name in NO_EFFECT:
        return None
    if name in REFUSED:
        feature, action = REFUSED[name]
        return f"{feature} is not part of mrqc: {action}"
    if name == "dequeue_strategy":
        strategy = str(value).lower()
        if strategy == "sequential":  # what mrqc always does: queues in the order listed
            return None
        if strategy == "burst":
            return "burst", True
        return (f"MRQ's {strategy!r} dequeue strategy is not part of mrqc: a worker serves its queues in the "
                "order listed ('sequential'); list them in the order you want, or run one worker per queue")
    if name == "subqueues_delimiter":
        if value == "/":
            return None
        return f"mrqc's subqueue delimiter is '/' (got {value!r}): rename the queues, or remove it"
    raise KeyError(name)
