"""``app.conf``: Celery's setting names (new lower-case and old upper-case forms), checked.

Every Celery 5 setting falls in one of three groups (``SUPPORTED``, ``NOOP``,
everything else = unsupported):

* **supported**: it has a meaning here and is honoured (see ``SUPPORTED`` for
  what each maps onto);
* **accepted, no effect**: harmless here (``NOOP`` says why, e.g. the
  prefetch multiplier: a gevent worker takes exactly as many jobs as it has
  free greenlets). Some only accept the value that matches what mrqc does
  (``task_serializer`` must be ``"json"``);
* **unsupported**: setting it to anything but its default raises
  ``ImproperlyConfigured`` naming it and saying why. An unknown name raises
  too, with a "did you mean" hint.

Names are stored in their new lower-case form; the old names
(``CELERY_ALWAYS_EAGER``, ``BROKER_URL``...) read and write the same value.
"""
from __future__ import annotations

import copy
import datetime
import difflib
import re
from collections.abc import MutableMapping
from typing import Any, Iterator, Mapping

from mrqcore.urls import MASK, mask_url

from .exceptions import ImproperlyConfigured

DEFAULTS: dict[str, Any] = {
    "broker_url": None, "result_backend": None, "task_default_queue": "celery",
    "task_time_limit": None, "task_soft_time_limit": None, "task_default_retry_delay": None,
    "task_always_eager": False, "task_eager_propagates": False, "task_store_eager_result": False,
    "task_routes": None, "task_annotations": None, "result_expires": None, "worker_concurrency": None,
    "imports": (), "include": (), "beat_schedule": {}, "beat_scheduler": None, "beat_max_loop_interval": 0,
    "beat_schedule_filename": "celerybeat-schedule", "beat_sync_every": 0, "beat_cron_starting_deadline": None,
    "timezone": None, "enable_utc": True, "task_default_rate_limit": None, "task_ignore_result": False,
    "task_acks_late": False, "task_reject_on_worker_lost": None, "task_queues": None,
    "worker_max_tasks_per_child": None, "worker_max_memory_per_child": None,
    "worker_disable_rate_limits": False, "task_track_started": False, "task_serializer": "json",
    "result_serializer": "json", "accept_content": ["json"], "result_accept_content": None,
    "event_serializer": "json", "task_compression": None, "result_compression": None,
    "task_default_priority": None, "task_queue_max_priority": None, "task_inherit_parent_priority": False,
    "task_protocol": 2, "worker_pool": None, "task_store_errors_even_if_ignored": False,
    "mrqc_strict_results": False, "worker_log_format": None, "worker_task_log_format": None,
    "worker_hijack_root_logger": True, "celery_wire": False, "mrqc_redis": None,
    "worker_soft_shutdown_timeout": 0.0,
}

#: setting -> what it does here
SUPPORTED: dict[str, str] = {
    "broker_url": "redis://, rediss://, unix://, sentinel:// -> mrqcore `redis` (memory://: the in-process memory "
                  "store; sentinel: docs/scaling.md); amqp:// (RabbitMQ): Celery messages through kombu with "
                  "celery_wire (mrqc's store: see mrqc.bridge.store_url)",
    "broker_transport_options": "global_keyprefix is read (-> mrqcore `redis_prefix`), priority_steps (as on "
    "Celery's Redis transport, see mrqc.priority), and master_name and "
    "sentinel_kwargs with a sentinel:// broker_url (docs/scaling.md); visibility_timeout "
    "and the like do not apply: jobs are tracked per worker and requeued when a worker is lost",
    "result_backend": "redis URL or None accepted; results live in the job records on the broker Redis "
    "(with celery_wire: also written there in Celery's format, for Celery clients)",
    "task_default_queue": "queue of tasks without a queue/route (default 'celery', as in Celery)",
    "task_default_priority": "priority of calls without one (Redis rule: lower is sooner; see mrqc.priority)",
    "task_inherit_parent_priority": "a call made inside a task takes that task's priority (mrqc.priority)",
    "task_queue_max_priority": "accepted, no effect: as on Celery's Redis transport (AMQP's x-max-priority)",
    "task_time_limit": "hard limit of every task without its own -> mrqcore task `timeout` (status timeout)",
    "task_soft_time_limit": "soft limit: SoftTimeLimitExceeded raised inside the task (gevent.Timeout)",
    "task_default_retry_delay": "mrqc extension: default of Task.default_retry_delay (Celery: 180)",
    "task_always_eager": "apply_async/delay run locally and return an EagerResult",
    "task_eager_propagates": "eager tasks re-raise their exception",
    "task_store_eager_result": "eager results are recorded in the app's store (memory:// apps: always)",
    "task_routes": "dict (exact names and glob patterns), list of dicts, router callables or their paths",
    "task_annotations": "dict form ({name or '*': {option: value}}) and lists of dicts",
    "result_expires": "seconds or timedelta -> mrqcore `result_ttl` of every Celery task",
    "worker_concurrency": "-> mrqcore `greenlets` of `mrqc worker -A`",
    "imports": "modules the worker imports -> mrqcore `imports`",
    "include": "modules the worker imports -> mrqcore `imports`",
    "beat_schedule": "periodic tasks, read by mrqc beat / mrqcore's scheduler",
    "beat_scheduler": "read by mrqc beat", "beat_max_loop_interval": "read by mrqc beat",
    "beat_schedule_filename": "read by mrqc beat", "beat_sync_every": "read by mrqc beat",
    "beat_cron_starting_deadline": "read by mrqc beat",
    "timezone": "IANA name; used by beat's crontab (dates stored are UTC)",
    "enable_utc": "must be True (all dates are UTC)",
    "task_default_rate_limit": "rate limit of tasks without their own ('10/s', '100/m', '1000/h')",
    "worker_disable_rate_limits": "True: rate limits are not enforced",
    "task_ignore_result": "default of Task.ignore_result (the state is still tracked, the value is not stored)",
    "task_acks_late": "default of Task.acks_late: a job interrupted by a worker shutdown is requeued",
    "task_reject_on_worker_lost": "accepted with the same meaning as task_acks_late's requeue",
    "task_queues": "queue names (str or objects with .name) served by `mrqc worker -A`",
    "worker_max_tasks_per_child": "-> mrqcore `max_jobs` (the worker exits; --processes restarts it)",
    "worker_max_memory_per_child": "KiB -> mrqcore `max_memory` (MB)",
    "worker_soft_shutdown_timeout": "-> mrqcore `soft_shutdown_timeout`: seconds a cold shutdown (SIGQUIT) lets "
                                    "running jobs finish before they are interrupted and requeued",
    "task_serializer": "must be 'json'", "result_serializer": "must be 'json'", "event_serializer": "must be 'json'",
    "accept_content": "must contain 'json'; with celery_wire, the content types consumed messages may use "
    "(msgpack, yaml; pickle only when listed)", "result_accept_content": "must be None or contain 'json'",
    "task_track_started": "no-op: STARTED is always tracked",
    "task_store_errors_even_if_ignored": "no-op: errors are always stored",
    "mrqc_strict_results": "mrqc extension: True makes AsyncResult.state 'UNKNOWN' for ids with no record",
    "worker_log_format": "-> mrqcore `log_worker_format`: %-format of the worker's own text lines",
    "worker_task_log_format": "-> mrqcore `log_task_format`: %-format of lines logged inside a task "
                              "(%(task_name)s, %(task_id)s available)",
    "worker_hijack_root_logger": "-> mrqcore `log_hijack_root_logger`: False keeps the root logger's handlers",
    "celery_wire": "mrqc extension (env MRQC_CELERY_WIRE=1, flag --celery-wire): join a Celery fleet over kombu "
    "(mrqc.adapters; docs/migrating-a-fleet.md)",
    "mrqc_redis": "mrqc extension: the Redis of mrqc's own job store when the broker is not it (env MRQC_REDIS)",
}

#: accepted, no effect here (and why)
NOOP: dict[str, str] = {
    "worker_prefetch_multiplier": "a gevent worker dequeues only as many jobs as it has free greenlets",
    "worker_disable_prefetch": "no prefetch", "worker_enable_prefetch_count_reduction": "no prefetch",
    "broker_connection_retry": "redis-py reconnects; the worker retries Redis errors itself",
    "broker_connection_retry_on_startup": "a worker waits for Redis at start; mrqcore's redis_retry_on_startup "
                                          "(MRQC_REDIS_RETRY_ON_STARTUP) turns that off", "broker_connection_max_retries": "as above",
    "broker_connection_timeout": "as above", "broker_channel_error_retry": "as above",
    "broker_heartbeat": "AMQP only", "broker_heartbeat_checkrate": "AMQP only", "broker_pool_limit": "pooled by redis-py",
    "broker_pool_acquire_timeout": "pooled by redis-py",
    "broker_transport": "always Redis", "broker_login_method": "AMQP only", "broker_failover_strategy": "single Redis",
    "result_backend_transport_options": "results share the broker's Redis connection",
    "result_backend_always_retry": "as above", "result_backend_max_retries": "as above",
    "result_backend_base_sleep_between_retries_ms": "as above",
    "result_backend_max_sleep_between_retries_ms": "as above",
    "result_extended": "records always hold name, args, kwargs, worker, queue, retries",
    "result_persistent": "AMQP only", "result_cache_max": "no client cache",
    "result_chord_join_timeout": "chords are counted in Redis, never joined",
    "result_chord_retry_interval": "as above", "result_chord_expires": "chord counters expire with result_expires",
    "task_publish_retry": "one Redis round trip per publish", "task_publish_retry_policy": "as above",
    "task_send_sent_event": "no event bus", "worker_send_task_events": "no event bus",
    "worker_enable_remote_control": "remote control is always on, over the store (docs/remote-control.md)",
    "task_create_missing_queues": "queues are always created on first use",
    "task_default_exchange": "no exchanges", "task_default_exchange_type": "no exchanges",
    "task_default_routing_key": "no exchanges", "task_default_delivery_mode": "Redis persistence is the server's",
    "task_remote_tracebacks": "tracebacks are always stored",
    "worker_log_color": "log lines are never coloured", "worker_redirect_stdouts": "logging is the worker's",
    "worker_redirect_stdouts_level": "logging is the worker's", "worker_log_datefmt": "logging is the worker's",
    "worker_task_log_datefmt": "logging is the worker's", "worker_lost_wait": "see worker_lost_after",
    "worker_cancel_long_running_tasks_on_connection_loss": "jobs survive a connection loss",
    "redis_max_connections": "pooled by redis-py", "redis_socket_timeout": "redis-py defaults",
    "redis_socket_connect_timeout": "redis-py defaults", "redis_retry_on_timeout": "redis-py defaults",
    "redis_socket_keepalive": "redis-py defaults", "redis_backend_use_ssl": "use a rediss:// URL",
    "task_acks_on_failure_or_timeout": "failures are recorded, never redelivered",
    "task_acks_on_failure": "as above", "task_acks_on_timeout": "as above",
    "task_allow_error_cb_on_chord_header": "chord errbacks run once for the chord",
    "task_protocol": "one message format", "worker_pool": "always gevent greenlets",
    "worker_proc_alive_timeout": "no prefork pool", "worker_pool_putlocks": "no prefork pool",
    "worker_pool_restarts": "no prefork pool", "worker_pool_start_method": "no prefork pool",
    "worker_deduplicate_successful_tasks": "a job id is never queued twice while live",
    "worker_eta_task_limit": "ETA jobs wait in Redis, not in worker memory",
    "task_compression": "must be None", "result_compression": "must be None",
    "worker_enable_soft_shutdown_on_idle": "an idle worker has nothing to requeue: ETA jobs wait in the store, "
                                           "not in worker memory (docs/worker.md, Stopping)",
    "beat_enable_remote_control": "read by mrqc beat", "beat_remote_control_max_tick_age": "read by mrqc beat",
    "worker_detect_quorum_queues": "AMQP only", "task_create_missing_queue_type": "AMQP only",
    "task_create_missing_queue_exchange_type": "AMQP only", "task_default_queue_type": "AMQP only",
    "broker_native_delayed_delivery_queue_type": "AMQP only", "worker_consumer": "fixed consumer",
    "worker_timer": "fixed timer", "worker_timer_precision": "fixed timer", "worker_agent": "no agent",
    "task_repr_maxlevels": "no reprs stored",
}

#: settings Celery knows that mrqc refuses (with the reason given in the error)
UNSUPPORTED: dict[str, str] = {
    "broker_read_url": "one Redis serves reads and writes", "broker_write_url": "one Redis serves reads and writes",
    "broker_use_ssl": "use a rediss:// broker_url", "broker_host": "use broker_url", "broker_port": "use broker_url",
    "broker_user": "use broker_url", "broker_password": "use broker_url", "broker_vhost": "use broker_url",
    "worker_direct": "no per-worker queues", "worker_autoscaler": "greenlets are fixed per worker",
    "worker_state_db": "revokes are stored in Redis", "control_exchange": "remote control travels over the store, not an exchange",
    "result_failure_expires": "failure records use mrqcore default_ttl",
    "result_exchange": "AMQP only", "result_exchange_type": "AMQP only",
}
for _prefix in ("security_", "cassandra_", "s3_", "azureblockblob_", "gcs_", "couchbase_", "arangodb_",
                "mongodb_", "cosmosdbsql_", "elasticsearch_", "database_", "cache_", "redis_db", "redis_host",
                "redis_port", "redis_password", "redis_username", "control_queue_", "event_queue_",
                "event_exchange"):
    UNSUPPORTED[_prefix] = "results are stored in the job records on the broker Redis"

#: old upper-case name -> new name (Celery 3 style)
OLD_NAMES: dict[str, str] = {
    "BROKER_URL": "broker_url", "CELERY_RESULT_BACKEND": "result_backend",
    "CELERY_DEFAULT_QUEUE": "task_default_queue", "CELERYD_TASK_TIME_LIMIT": "task_time_limit",
    "CELERYD_TASK_SOFT_TIME_LIMIT": "task_soft_time_limit", "CELERY_ALWAYS_EAGER": "task_always_eager",
    "CELERY_EAGER_PROPAGATES_EXCEPTIONS": "task_eager_propagates", "CELERY_ROUTES": "task_routes",
    "CELERY_ANNOTATIONS": "task_annotations", "CELERY_TASK_RESULT_EXPIRES": "result_expires",
    "CELERYD_CONCURRENCY": "worker_concurrency", "CELERY_IMPORTS": "imports", "CELERY_INCLUDE": "include",
    "CELERYBEAT_SCHEDULE": "beat_schedule", "CELERYBEAT_SCHEDULER": "beat_scheduler",
    "CELERYBEAT_MAX_LOOP_INTERVAL": "beat_max_loop_interval", "CELERYBEAT_SCHEDULE_FILENAME": "beat_schedule_filename",
    "CELERYBEAT_SYNC_EVERY": "beat_sync_every", "CELERY_TIMEZONE": "timezone", "CELERY_ENABLE_UTC": "enable_utc",
    "ENABLE_UTC": "enable_utc", "CELERY_DEFAULT_RATE_LIMIT": "task_default_rate_limit",
    "CELERY_DISABLE_RATE_LIMITS": "worker_disable_rate_limits", "CELERY_IGNORE_RESULT": "task_ignore_result",
    "CELERY_ACKS_LATE": "task_acks_late", "CELERY_REJECT_ON_WORKER_LOST": "task_reject_on_worker_lost",
    "CELERY_QUEUES": "task_queues", "CELERYD_MAX_TASKS_PER_CHILD": "worker_max_tasks_per_child",
    "CELERYD_MAX_MEMORY_PER_CHILD": "worker_max_memory_per_child", "CELERY_TRACK_STARTED": "task_track_started",
    "CELERY_TASK_SERIALIZER": "task_serializer", "CELERY_RESULT_SERIALIZER": "result_serializer",
    "CELERY_ACCEPT_CONTENT": "accept_content", "CELERY_EVENT_SERIALIZER": "event_serializer",
    "CELERY_MESSAGE_COMPRESSION": "task_compression", "CELERY_RESULT_COMPRESSION": "result_compression",
    "CELERY_DEFAULT_PRIORITY": "task_default_priority", "CELERY_QUEUE_MAX_PRIORITY": "task_queue_max_priority",
    "CELERYD_PREFETCH_MULTIPLIER": "worker_prefetch_multiplier", "CELERY_SEND_EVENTS": "worker_send_task_events",
    "CELERY_SEND_TASK_SENT_EVENT": "task_send_sent_event", "CELERYD_HIJACK_ROOT_LOGGER": "worker_hijack_root_logger",
    "CELERY_STORE_ERRORS_EVEN_IF_IGNORED": "task_store_errors_even_if_ignored",
    "CELERY_DEFAULT_EXCHANGE": "task_default_exchange", "CELERY_DEFAULT_ROUTING_KEY": "task_default_routing_key",
    "CELERY_TASK_PUBLISH_RETRY": "task_publish_retry", "CELERY_TASK_PUBLISH_RETRY_POLICY": "task_publish_retry_policy",
    "BROKER_TRANSPORT_OPTIONS": "broker_transport_options", "BROKER_CONNECTION_RETRY": "broker_connection_retry",
    "BROKER_POOL_LIMIT": "broker_pool_limit", "CELERYD_POOL": "worker_pool", "CELERY_RESULT_PERSISTENT": "result_persistent",
    "CELERY_CREATE_MISSING_QUEUES": "task_create_missing_queues", "CELERY_TASK_PROTOCOL": "task_protocol",
    "CELERY_ENABLE_REMOTE_CONTROL": "worker_enable_remote_control",
}

_KNOWN = set(DEFAULTS) | set(SUPPORTED) | set(NOOP) | {k for k in UNSUPPORTED if not k.endswith("_")}
_SETTING_PREFIXES = ("task_", "worker_", "broker_", "result_", "beat_", "celery_", "celeryd_", "celerybeat_",
                     "redis_", "mrqc_")


def canonical(name: str) -> str:
    """The new lower-case name of a setting; raise ImproperlyConfigured if unknown or unsupported."""
    if name in OLD_NAMES:
        return OLD_NAMES[name]
    key = name.lower() if name.isupper() else name
    if key in _KNOWN:
        return key
    for prefix, why in UNSUPPORTED.items():
        if prefix.endswith("_") and key.startswith(prefix):
            return key
    hint = difflib.get_close_matches(key, sorted(_KNOWN) + list(OLD_NAMES), n=1)
    raise ImproperlyConfigured(f"unknown Celery setting {name!r}"
                               + (f" (did you mean {hint[0]!r}?)" if hint else ""))


def looks_like_setting(name: str) -> bool:
    """For config objects read without a namespace: is this attribute meant as a setting?

    Lower-case names (a ``celeryconfig`` module) are settings if known, if they
    start with a setting prefix (``task_``, ``worker_``...), or if they are a
    near miss of a known name, so typos are reported. Upper-case names (Django
    settings, Celery 3 config) are settings only if they are Celery's old names
    or a near miss of one that starts like them (``CELERY_ALWAYS_EAGR``); other
    upper-case names (``REDIS_HOST``, ``CACHES``) belong to the project and are
    not read, as in Celery.
    """
    if name.startswith("_"):
        return False
    if name in OLD_NAMES:
        return True
    if name.isupper():
        return name.startswith(("CELERY", "BROKER_")) and \
            bool(difflib.get_close_matches(name, list(OLD_NAMES), n=1, cutoff=0.88))
    key = name.lower()
    if key in _KNOWN or key.startswith(_SETTING_PREFIXES):
        return True
    return bool(difflib.get_close_matches(key, sorted(_KNOWN), n=1, cutoff=0.88))


def _seconds(name: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 0:
        return float(value)
    raise ImproperlyConfigured(f"setting {name!r}: expected seconds (number or timedelta), got {value!r}")


#: broker_url schemes accepted; the wire ones only with celery_wire on (Celery's RabbitMQ, through kombu)
BROKER_SCHEMES = ("redis", "rediss", "unix", "memory", "sentinel", "redis+sentinel", "redis+cluster",
                  "rediss+cluster")
WIRE_BROKER_SCHEMES = ("amqp", "amqps", "pyamqp")


def wire_on(settings: Mapping[str, Any] | None) -> bool:
    """``celery_wire`` is on: in ``settings`` (canonical names) or ``$MRQC_CELERY_WIRE`` (1/true/yes/on)."""
    import os
    if settings is not None and settings.get("celery_wire"):
        return True
    return os.environ.get("MRQC_CELERY_WIRE", "").strip().lower() in ("1", "true", "yes", "on")


def validate(name: str, value: Any, settings: Mapping[str, Any] | None = None) -> Any:
    """Check one (canonical) setting's value; returns the value to store.

    ``settings`` (the app's other settings, canonical names) is read for the
    checks that depend on ``celery_wire``."""
    why = UNSUPPORTED.get(name) or next((w for p, w in UNSUPPORTED.items()
                                         if p.endswith("_") and name.startswith(p)), None)
    if why is not None:
        if value in (None, False, (), [], {}, ""):
            return value
        raise ImproperlyConfigured(f"setting {name!r} is not supported by mrqc: {why}")
    if name == "broker_url" and value:
        schemes = BROKER_SCHEMES + (WIRE_BROKER_SCHEMES if wire_on(settings) else ())
        if not isinstance(value, str) or not value.split("://")[0] in schemes:
            raise ImproperlyConfigured(f"setting 'broker_url': {mask_url(value)!r} is not supported; mrqc runs on Redis "
                                       "(redis://, rediss://, unix://, sentinel://, redis+cluster://; memory:// for the in-process "
                                       "memory store), or joins a Celery fleet on amqp:// with celery_wire")
    if name == "result_backend" and value:
        scheme = str(value).split("://")[0].split("+")[0]
        if scheme not in ("redis", "rediss", "unix", "sentinel", "mrqc", "cache", "disabled") or \
                (scheme == "cache" and "memory" not in str(value)):
            raise ImproperlyConfigured(f"setting 'result_backend': {mask_url(value)!r} is not supported; results are stored "
                                       "in the job records on the broker's Redis (use a redis:// URL or None)")
    if name in ("task_serializer", "result_serializer", "event_serializer") and value not in (None, "json"):
        raise ImproperlyConfigured(f"setting {name!r}: only 'json' is supported, got {value!r}")
    if name in ("accept_content", "result_accept_content") and value is not None:
        if isinstance(value, str):
            value = [value]
        if "json" not in value and "application/json" not in value:
            raise ImproperlyConfigured(f"setting {name!r} must accept 'json', got {value!r}")
    if name in ("task_compression", "result_compression") and value:
        raise ImproperlyConfigured(f"setting {name!r}: compression is not supported, got {value!r}")
    if name == "enable_utc" and value is False:
        raise ImproperlyConfigured("setting 'enable_utc': only True is supported (mrqc stores UTC dates)")
    if name == "timezone" and value:
        import zoneinfo
        try:
            zoneinfo.ZoneInfo(str(value))
        except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
            raise ImproperlyConfigured(f"setting 'timezone': unknown time zone {value!r}") from exc
    if name in ("task_time_limit", "task_soft_time_limit", "result_expires", "task_default_retry_delay"):
        _seconds(name, value)
    if name == "worker_pool" and value not in (None, "gevent", "solo", "threads", "prefork", "eventlet"):
        raise ImproperlyConfigured(f"setting 'worker_pool': unknown pool {value!r}")
    if name == "task_default_rate_limit" and value:
        from .utils import parse_rate_limit
        parse_rate_limit(value, "task_default_rate_limit")
    if name == "task_annotations" and value:
        _check_annotations(value)
    if name in ("imports", "include") and isinstance(value, str):
        value = (value,)
    return value


#: setting names whose values ``table``/``humanize`` never show (Celery's HIDDEN_SETTINGS)
HIDDEN_SETTINGS = re.compile("API|TOKEN|KEY|SECRET|PASS|PROFANITIES_LIST|SIGNATURE|DATABASE", re.IGNORECASE)


def censor(data: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of ``data`` fit to print: secret-looking names masked, passwords cut out of URLs."""
    out: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out[key] = censor(value)
        elif isinstance(key, str) and HIDDEN_SETTINGS.search(key):
            out[key] = MASK
        elif isinstance(value, str):
            out[key] = mask_url(value)
        else:
            out[key] = value
    return out


def _check_annotations(value: Any) -> None:
    """``task_annotations``: dicts (or a list of dicts) of ``{task name or "*": {option: value}}``."""
    from .exceptions import UnsupportedOption
    from .task import check_task_options
    for mapping in value if isinstance(value, (list, tuple)) else [value]:
        if not isinstance(mapping, Mapping):
            raise UnsupportedOption("setting 'task_annotations': only dict entries are supported, "
                                    f"got {mapping!r}")
        for key, options in mapping.items():
            if not isinstance(options, Mapping):
                raise ImproperlyConfigured(f"setting 'task_annotations'[{key!r}]: expected a dict of task options")
            plain = {k: v for k, v in options.items()
                     if not (k.startswith("on_") or k in ("after_return", "before_start"))}
            check_task_options(plain, f"task_annotations[{key!r}]")


class Settings(MutableMapping):
    """``app.conf``: attribute and item access, old and new names, checked on every write."""

    def __init__(self, on_change: Any = None, on_first_read: Any = None) -> None:
        object.__setattr__(self, "_data", copy.deepcopy(DEFAULTS))
        object.__setattr__(self, "_changes", {})
        object.__setattr__(self, "_on_change", on_change)
        object.__setattr__(self, "_on_first_read", on_first_read)

    # mapping protocol
    def __getitem__(self, key: str) -> Any:
        """Read a setting. The first read configures the app (``on_after_configure``), as in Celery."""
        name = canonical(key)
        hook = self._on_first_read
        if hook is not None:
            object.__setattr__(self, "_on_first_read", None)
            hook()
        return self._data.get(name)

    def get(self, key: str, default: Any = None) -> Any:  # type: ignore[override]
        """Like Celery's: an unknown name reads as ``default`` (only writes are checked)."""
        try:
            value = self[key]
        except ImproperlyConfigured:
            return default
        return default if value is None else value

    def peek(self, key: str) -> Any:
        """Read a setting without configuring the app (for mrqc's own bookkeeping)."""
        return self._data.get(canonical(key))

    def __setitem__(self, key: str, value: Any) -> None:
        name = canonical(key)
        value = validate(name, value, self._data)
        self._data[name] = value
        self._changes[name] = value
        if self._on_change is not None:
            self._on_change(name, value)

    def __delitem__(self, key: str) -> None:
        name = canonical(key)
        self._changes.pop(name, None)
        self._data[name] = DEFAULTS.get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        try:
            return canonical(str(key)) in self._data
        except ImproperlyConfigured:
            return False

    # attribute access
    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self[key]
        except ImproperlyConfigured as exc:
            raise AttributeError(str(exc)) from None

    def __setattr__(self, key: str, value: Any) -> None:
        self[key] = value

    def __repr__(self) -> str:
        return f"<Settings: {self.changes!r}>"

    @property
    def changes(self) -> dict[str, Any]:
        """Settings set explicitly (not defaults)."""
        return dict(self._changes)

    def is_set(self, key: str) -> bool:
        return canonical(key) in self._changes

    def update(self, other: Any = (), /, **kwargs: Any) -> None:  # type: ignore[override]
        items = dict(other.items() if isinstance(other, Mapping) else other)
        items.update(kwargs)
        merged = dict(self._data, **{canonical(k): v for k, v in items.items()})
        for key in items:  # check every name before changing anything
            validate(canonical(key), items[key], merged)
        for key, value in sorted(items.items(), key=lambda kv: canonical(kv[0]) != "celery_wire"):
            self[key] = value  # celery_wire first: broker_url's check reads it

    def setdefault(self, key: str, default: Any = None) -> Any:
        if not self.is_set(key):
            self[key] = default
        return self[key]

    def humanize(self, with_defaults: bool = False, censored: bool = True) -> str:
        """The settings as ``name: value`` lines; ``censored`` hides secrets as ``table`` does."""
        return "\n".join(f"{k}: {v!r}" for k, v in sorted(self.table(with_defaults, censored).items()))

    def table(self, with_defaults: bool = False, censored: bool = True) -> dict[str, Any]:
        """The settings set (all with ``with_defaults``). ``censored`` (the default, as in Celery)
        masks values of names that look secret (``*password*``, ``*key*``...) and URL passwords."""
        data = dict(self._data if with_defaults else self._changes)
        return censor(data) if censored else data

    def seconds(self, key: str) -> float | None:
        """A time setting in seconds (timedelta or number), or None."""
        return _seconds(key, self[key])
