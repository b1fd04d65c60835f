"""Tasks for the compat tests. They report what they see through Redis, never through timing."""
from __future__ import annotations

import random

import gevent
from mrqcore.context import connections
from mrqcore.runtime import get_runtime

from mrqc import shared_task, signals
from mrqc.exceptions import Reject, SoftTimeLimitExceeded

from .proj import app


def key(name: str) -> str:
    return get_runtime().config.redis_prefix + "test:" + name


class CustomError(Exception):
    """Raised by ``fail``; importable, so ``get()`` re-raises it as itself."""


class FlakyError(Exception):
    pass


@app.task
def add(x, y):
    return x + y


@app.task
def mul(x, y):
    return x * y


@app.task
def xsum(numbers):
    return sum(numbers)


@app.task
def routed(x):
    return x


@app.task(queue="compat-own")
def own_queue(x):
    return x


@app.task
def fail(message="boom"):
    raise CustomError(message, 42)


@app.task(bind=True)
def whoami(self, *args, **kwargs):
    r = self.request
    return {"id": r.id, "retries": r.retries, "args": list(r.args), "kwargs": r.kwargs,
            "routing_key": (r.delivery_info or {}).get("routing_key"), "hostname": r.hostname,
            "called_directly": r.called_directly, "is_eager": r.is_eager, "root_id": r.root_id,
            "parent_id": r.parent_id, "eta": r.eta, "expires": r.expires,
            "trace_id": getattr(r, "trace_id", None), "name": self.name}


@app.task(bind=True, max_retries=3, default_retry_delay=0)
def retry_until(self, succeed_at):
    connections.redis.rpush(key("retries:" + self.request.id), self.request.retries)
    if self.request.retries < succeed_at:
        raise self.retry(countdown=0.1)
    return self.request.retries


@app.task(bind=True, autoretry_for=(FlakyError,), retry_backoff=True, retry_backoff_max=1, max_retries=2)
def flaky(self):
    connections.redis.rpush(key("flaky:" + self.request.id), self.request.retries)
    raise FlakyError("still flaky")


@app.task(bind=True, autoretry_for=(FlakyError,), dont_autoretry_for=(CustomError,), max_retries=5,
          retry_kwargs={"countdown": 0})
def not_for_custom(self):
    connections.redis.incr(key("not_for_custom"))
    raise CustomError("do not retry me")


@app.task(bind=True, max_retries=1)
def retry_with_exc(self):
    try:
        raise CustomError("underlying")
    except CustomError as exc:
        raise self.retry(exc=exc, countdown=0)


@app.task(bind=True)
def retry_later(self):
    raise self.retry(countdown=60)


@app.task(soft_time_limit=0.3)
def soft_limited():
    try:
        gevent.sleep(30)
    except SoftTimeLimitExceeded:
        connections.redis.rpush(key("soft"), "caught")
        return "cleaned up"
    return "not reached"


@app.task(time_limit=0.5)
def hard_limited():
    connections.redis.rpush(key("hard"), "started")
    gevent.sleep(30)
    return "not reached"


@app.task(rate_limit="5/s")
def limited(i):
    redis = connections.redis
    seconds, _ = redis.time()
    redis.hincrby(key("limited"), str(seconds), 1)
    return i


@app.task
def slow_add(x, y):
    gevent.sleep(random.random() * 0.05)
    return x + y


@app.task
def count_body(results):
    """A chord body that counts its runs, per result (each test round has a distinct sum)."""
    connections.redis.hincrby(key("chord-body"), str(sum(results)), 1)
    return sum(results)


@app.task
def on_error_old(task_id):
    connections.redis.rpush(key("errback"), task_id)


@app.task
def on_error_new(request, exc, traceback):
    connections.redis.rpush(key("errback-new"), f"{request.id}|{type(exc).__name__}")


@app.task(bind=True)
def progress(self, gate):
    self.update_state(state="PROGRESS", meta={"done": 1, "total": 2})
    connections.redis.rpush(key("progress-started"), self.request.id)
    connections.redis.blpop(key("gate:" + gate), timeout=30)
    return "done"


@app.task
def gated(gate):
    connections.redis.rpush(key("gated-started"), gate)
    connections.redis.blpop(key("gate:" + gate), timeout=30)
    return gate


@app.task(acks_late=True)
def gated_late(gate):
    connections.redis.rpush(key("gated-started"), gate)
    connections.redis.blpop(key("gate:" + gate), timeout=30)
    return gate


@app.task
def reject(requeue=False):
    if requeue:
        n = connections.redis.incr(key("rejects"))
        if n > 1:
            return "second time"
    raise Reject("no thanks", requeue=requeue)


@app.task
def record(value):
    connections.redis.rpush(key("record"), value)
    return value


@app.task(bind=True)
def spawn_children(self, n):
    return [add.delay(i, i).id for i in range(n)]


@shared_task
def shared_mul(x, y):
    return x * y


class ClassBased(app.Task):
    name = "tests.compat.proj_tasks.ClassBased"
    max_retries = 0

    def run(self, x):
        return x * 10

    def on_success(self, retval, task_id, args, kwargs):
        connections.redis.rpush(key("class-on-success"), f"{task_id}:{retval}")


app.register_task(ClassBased())


@signals.task_prerun.connect
def _prerun(sender=None, task_id=None, task=None, args=None, kwargs=None, **extra):
    _log_signal("task_prerun", sender, task_id=task_id, task=task.name, args=list(args), kwargs=kwargs)


@signals.task_postrun.connect
def _postrun(sender=None, task_id=None, task=None, args=None, kwargs=None, retval=None, state=None, **extra):
    _log_signal("task_postrun", sender, task_id=task_id, state=state, retval=repr(retval))


@signals.task_success.connect
def _success(sender=None, result=None, **extra):
    _log_signal("task_success", sender, result=repr(result), task_id=sender.request.id)


@signals.task_failure.connect
def _failure(sender=None, task_id=None, exception=None, args=None, kwargs=None, traceback=None, einfo=None, **extra):
    _log_signal("task_failure", sender, task_id=task_id, exception=type(exception).__name__,
                has_tb=traceback is not None, einfo=type(einfo.exception).__name__)


@signals.task_retry.connect
def _retry(sender=None, request=None, reason=None, einfo=None, **extra):
    _log_signal("task_retry", sender, task_id=request.id, reason=type(reason).__name__)


@signals.task_revoked.connect
def _revoked(sender=None, request=None, terminated=None, signum=None, expired=None, **extra):
    _log_signal("task_revoked", sender, task_id=request.id, terminated=terminated, expired=expired)


@signals.worker_ready.connect
def _ready(sender=None, **extra):
    connections.redis.rpush(key("worker-signals"), "worker_ready")


@signals.worker_init.connect
def _init(sender=None, **extra):
    connections.redis.rpush(key("worker-signals"), "worker_init")


@signals.worker_shutdown.connect
def _shutdown(sender=None, **extra):
    connections.redis.rpush(key("worker-signals"), "worker_shutdown")


def _log_signal(name, sender, **fields):
    import json
    try:
        connections.redis.rpush(key("signals"), json.dumps({"signal": name, "sender": sender.name, **fields}))
    except Exception:  # eager tests without Redis must not break on the receiver
        pass


@app.task(ignore_result=True)
def ignored(x):
    connections.redis.rpush(key("ignored"), x)
    return x


@app.task(bind=True, max_retries=2)
def retry_no_throw(self):
    connections.redis.rpush(key("no-throw:" + self.request.id), self.request.retries)
    if self.request.retries == 0:
        self.retry(countdown=0, throw=False)
        return "first run went on"
    return "retried"


@app.task(bind=True, max_retries=2)
def retry_changing(self, n):
    r = self.request
    connections.redis.rpush(key("changing:" + r.id), f"{n}@{r.delivery_info['routing_key']}")
    if n < 2:
        raise self.retry(args=(n + 1,), countdown=0, queue="compat-own")
    return n


from mrqc.utils.log import get_task_logger  # noqa: E402 - as projects import it from celery.utils.log

logger = get_task_logger(__name__)


@app.task
def logs(message):
    logger.info("logged: %s", message)
    return message


@app.task(bind=True)
def custom_failure(self):
    from mrqc import states
    from mrqc.exceptions import Ignore
    self.update_state(state=states.FAILURE, meta={"exc_type": "ValueError", "exc_message": ["custom"]})
    raise Ignore()


class RecordingHooks(app.Task):
    """A base class whose hooks record what they were called with."""

    def _log(self, line):
        connections.redis.rpush(key("hooks"), line)

    def before_start(self, task_id, args, kwargs):
        self._log(f"before_start {list(args)}")

    def on_success(self, retval, task_id, args, kwargs):
        self._log(f"on_success {retval}")

    def on_failure(self, exc, task_id, args, kwargs, einfo):
        self._log(f"on_failure {type(exc).__name__} {type(einfo.exception).__name__}")

    def on_retry(self, exc, task_id, args, kwargs, einfo):
        self._log(f"on_retry {type(exc).__name__}")

    def after_return(self, status, retval, task_id, args, kwargs, einfo):
        self._log(f"after_return {status}")

    def __call__(self, *args, **kwargs):
        self._log("custom __call__")
        return super().__call__(*args, **kwargs)


@app.task(bind=True, base=RecordingHooks, max_retries=1, default_retry_delay=0)
def hooked(self, fail):
    if fail and self.request.retries == 0:
        raise self.retry(exc=CustomError("first"))
    if fail:
        raise CustomError("second")
    return "fine"
