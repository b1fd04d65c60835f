"""Running one Celery task call: hooks, signals, retries, time limits, callbacks.

``run_job(task, params)`` is what the generated mrqcore task runs in the
worker; ``trace(task, request, backend)`` is shared with ``apply()``/eager
mode. The order follows Celery's tracer:

1. (worker) an expired job ends REVOKED without running (``task_revoked``
   with ``expired=True``); a rate-limited job goes back to wait
   (``DelayInterrupt``, not a retry);
2. ``task_prerun``, ``before_start``, the function (under the soft limit:
   ``SoftTimeLimitExceeded`` is raised inside it; autoretry_for applies);
3. success: link callbacks, chain step, chord part, ``on_success``,
   ``task_success``; retry: ``on_retry``, ``task_retry``, then mrqcore's
   ``RetryInterrupt``; failure: the exception is stored (so ``get()`` re-raises
   it as its own type), errbacks, the rest of the chain/chord fails,
   ``on_failure``, ``task_failure``;
4. always: ``after_return``, ``task_postrun``.

The hard time limit is mrqcore's job ``timeout`` (``JobTimeoutInterrupt``,
status ``timeout``); it passes through here so errbacks and ``task_failure``
see it as ``TimeLimitExceeded`` (an interrupt's status is reported as the
state and exception of ``mrqc.states.STATUS_READINGS``).

What the worker learns for the record (the exception as ``exc_info``, the
``children`` it sent, a retry's new ``params``) goes into the running job's
``finish_fields``: mrqcore writes them in the same atomic finish as the status,
so no reader ever sees FAILURE without its exception.
"""
from __future__ import annotations

import contextlib
import inspect
import logging
import random
import time
import traceback as tb_module
from typing import TYPE_CHECKING, Any

import gevent
from mrqcore import serialization
from mrqcore.context import get_current_job
from mrqcore.exceptions import (DelayInterrupt, JobInterrupt, JobTimeoutInterrupt, RetryInterrupt,
                                WorkerInterrupt)

from . import _state, signals, states
from .exceptions import (Ignore, IgnoreInterrupt, InvalidTaskError, Reject, Retry,
                         RevokedInterrupt, SoftTimeLimitExceeded, TaskRevokedError)
from .task import Context
from .utils import exception_record, exponential_backoff, from_timestamp, to_timestamp

if TYPE_CHECKING:
    from .task import Task

logger = logging.getLogger("mrqc.trace")


class ExceptionInfo:
    """Celery's ``einfo``: the exception, its type, traceback object and text."""

    def __init__(self, exc: BaseException, tb: Any = None) -> None:
        self.exception = exc
        self.type = type(exc)
        self.tb = tb if tb is not None else exc.__traceback__
        self.traceback = "".join(tb_module.format_exception(type(exc), exc, self.tb))

    def __str__(self) -> str:
        return self.traceback

    def __repr__(self) -> str:
        return f"<ExceptionInfo: {self.exception!r}>"


class Outcome:
    """How one traced call ended: a Celery state plus the value or exception."""

    def __init__(self, state: str, retval: Any = None, exc: BaseException | None = None,
                 einfo: ExceptionInfo | None = None, retry: Retry | None = None) -> None:
        self.state, self.retval, self.exc, self.einfo, self.retry = state, retval, exc, einfo, retry
        #: a success whose result is not kept (ignore_result)
        self.ignored = False


# --- the worker side ---------------------------------------------------------------


def run_job(task: "Task", params: dict[str, Any]) -> Any:
    """Run the current mrqcore job as a call of ``task`` (``params`` = {"args", "kwargs"})."""
    job = get_current_job()
    if job is None:
        raise InvalidTaskError(f"{task.name}: run_job() outside of a job")
    meta = job.data.get("meta") or {}
    args, kwargs = split_params(task.name, params)
    request = worker_request(task, job, meta, args, kwargs)
    backend = WorkerBackend(task, job, meta)
    signals.task_received.send(sender=job.worker, request=request)
    expires = meta.get("expires")
    if expires is not None and time.time() > float(expires):
        signals.task_revoked.send(sender=task, request=request, terminated=False, signum=None, expired=True)
        backend.fail_downstream(request, TaskRevokedError(f"expired: {request.id}"))
        raise RevokedInterrupt(f"task {task.name}[{request.id}] expired at {from_timestamp(expires)}")
    rate = task._rate()
    if rate is not None:
        # Celery's spacing (a token bucket of one token per task, refilled every per/count
        # seconds), shared by every worker through the store: a call that must wait goes
        # back to the scheduled set for that long (status queued, retry_count unchanged).
        count, per = rate
        interval = per / count
        wait = job.runtime.store.space_calls(f"celery:{task.name}", interval)
        if wait > 0:
            delay = wait + random.uniform(0, min(interval, 1.0) / 10)
            raise DelayInterrupt(delay, reason=f"rate limit {task.rate_limit} of {task.name}: next slot")
    outcome = trace(task, request, backend)
    return backend.conclude(outcome)


def split_params(name: str, params: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if not isinstance(params, dict):
        raise InvalidTaskError(f"{name}: params must be a dict with 'args' and 'kwargs', got {params!r}")
    args = params.get("args", [])
    kwargs = params.get("kwargs", {})
    extra = set(params) - {"args", "kwargs"}
    if extra or not isinstance(args, list) or not isinstance(kwargs, dict):
        raise InvalidTaskError(f"{name}: a Celery task's params are {{'args': [...], 'kwargs': {{...}}}}; "
                               f"got {params!r}")
    return tuple(args), kwargs


def worker_request(task: "Task", job: Any, meta: dict[str, Any], args: tuple[Any, ...],
                   kwargs: dict[str, Any]) -> Context:
    worker = job.worker
    eta, expires = from_timestamp(meta.get("eta")), from_timestamp(meta.get("expires"))
    request = Context(
        id=job.id, args=args, kwargs=kwargs, retries=job.retry_count, is_eager=False, called_directly=False,
        delivery_info={"exchange": "", "routing_key": job.data.get("queue"), "priority": meta.get("priority"),
                       "redelivered": bool(job.data.get("requeue_history") or meta.get("redelivered"))},
        hostname=worker.id if worker is not None else None, root_id=meta.get("root_id") or job.id,
        parent_id=meta.get("parent_id"), group=meta.get("group_id"), group_index=meta.get("group_index"),
        chord=meta.get("chord"), callbacks=meta.get("link"), errbacks=meta.get("link_error"),
        eta=eta.isoformat() if eta else None, expires=expires.isoformat() if expires else None,
        headers=meta.get("headers"), timelimit=tuple(meta.get("timelimit") or (None, None)),
        reply_to=meta.get("reply_to"), correlation_id=job.id, task=task.name,
        ignore_result=bool(meta.get("ignore_result", False)), shadow=meta.get("shadow"),
    )
    timelimit = request.timelimit
    declared_hard, declared_soft = task.time_limit, task.soft_time_limit
    request.time_limit = timelimit[0] if timelimit[0] is not None else declared_hard
    request.soft_time_limit = timelimit[1] if timelimit[1] is not None else declared_soft
    request.replaced_task_nesting = int(meta.get("replaced_task_nesting") or 0)
    request._mrqc_ignore_explicit = "ignore_result" in meta
    if meta.get("stamped_headers"):
        request.stamped_headers = list(meta["stamped_headers"])
        request.stamps = dict(meta.get("stamps") or {})
        for key, value in request.stamps.items():
            setattr(request, key, value)
    request.properties = {"correlation_id": job.id, "reply_to": meta.get("reply_to"), "delivery_mode": 2,
                          "priority": None, **(meta.get("properties") or {})}
    for key in ("argsrepr", "kwargsrepr"):
        if meta.get(key) is not None:
            setattr(request, key, meta[key])
    for key, value in (meta.get("headers") or {}).items():  # Celery exposes custom headers as attributes
        if not hasattr(request, key):
            setattr(request, key, value)
    return request


# --- the shared tracer -------------------------------------------------------------


def trace(task: "Task", request: Context, backend: Any) -> Outcome:
    """Run the call and every hook around it; never raises except mrqcore interrupts (re-raised by
    ``backend.conclude``) and what eager propagation asks for."""
    args, kwargs = tuple(request.args or ()), dict(request.kwargs or {})
    task_token = _state.push_task(task)
    request._mrqc_tracing = True
    req_token = task.request_stack.push(request)
    outcome: Outcome | None = None
    try:
        signals.task_prerun.send(sender=task, task_id=request.id, task=task, args=args, kwargs=kwargs)
        try:
            task.before_start(request.id, args, kwargs)
            retval = _call(task, request, args, kwargs, backend.enforce_limits)
            pending = request.__dict__.pop("_mrqc_retry", None)
            if pending is not None:
                raise pending
        except Retry as retry:
            outcome = _on_retry(task, request, retry, args, kwargs)
        except Ignore as exc:
            outcome = Outcome(states.IGNORED, exc=exc)
        except Reject as exc:
            outcome = Outcome(states.REJECTED, exc=exc)
        except Exception as exc:
            outcome = _on_failure(task, request, exc, args, kwargs, backend)
        except JobInterrupt as interrupt:
            outcome = _on_interrupt(task, request, interrupt, args, kwargs, backend)
        else:
            outcome = _on_success(task, request, retval, args, kwargs, backend)
        return outcome
    finally:
        request._mrqc_tracing = False
        if outcome is not None:
            _after(task, request, outcome, args, kwargs)
        task.request_stack.pop(req_token)
        _state.pop_task(task_token)


def _call(task: "Task", request: Context, args: tuple[Any, ...], kwargs: dict[str, Any],
          enforce_limits: bool) -> Any:
    hard, soft = task._time_limits()
    call_hard, call_soft = (tuple(request.timelimit) + (None, None))[:2]
    soft = call_soft if call_soft is not None else soft
    hard_guard: Any = contextlib.nullcontext()
    soft_guard: Any = contextlib.nullcontext()
    if enforce_limits:
        if call_hard:  # the task's own hard limit is mrqcore's timeout; a per-call one is added here
            hard_guard = gevent.Timeout(float(call_hard), JobTimeoutInterrupt(f"time limit {call_hard}s"))
        if soft:
            soft_guard = gevent.Timeout(float(soft), SoftTimeLimitExceeded(float(soft)))
    fun = task if type(task).__call__ is not _task_call() else task.run
    with hard_guard:
        with soft_guard:
            try:
                return fun(*args, **kwargs)
            except (Ignore, Retry, Reject):
                raise
            except tuple(task.dont_autoretry_for or ()):
                raise
            except tuple(task.autoretry_for or ()) as exc:
                retry_kwargs = dict(task.retry_kwargs or {})
                if task.retry_backoff:
                    retry_kwargs["countdown"] = exponential_backoff(
                        int(max(1.0, float(task.retry_backoff))), request.retries,
                        int(task.retry_backoff_max), bool(task.retry_jitter))
                raise task.retry(exc=exc, **retry_kwargs)


def _task_call() -> Any:
    from .task import Task
    return Task.__call__


def _on_success(task: "Task", request: Context, retval: Any, args: tuple[Any, ...], kwargs: dict[str, Any],
                backend: Any) -> Outcome:
    if getattr(request, "_mrqc_ignore_explicit", False):  # the call's ignore_result wins over the task's
        ignored = bool(request.ignore_result)
    else:
        ignored = bool(task._effective_ignore_result() or request.ignore_result)
    sent = _storable(retval)  # what Celery's serializer would carry to the result and the next steps
    stored = None if ignored else sent
    try:
        serialization.dumps_checked(stored, "result")
    except Exception as exc:  # Celery's EncodeError: the call fails
        return _on_failure(task, request, exc, args, kwargs, backend)
    for callback in request.callbacks or ():
        _apply_callback(task, request, callback, (sent,))
    backend.continue_workflow(request, sent)
    backend.store_children(request)
    task.on_success(retval, request.id, args, kwargs)
    signals.task_success.send(sender=task, result=retval)
    outcome = Outcome(states.SUCCESS, retval=stored)
    outcome.ignored = ignored
    return outcome


def _storable(retval: Any) -> Any:
    """A returned AsyncResult/GroupResult is stored as its ``as_tuple()``, as Celery's backends do; a
    returned signature (a dict subclass) as the plain dict Celery's JSON encoder writes."""
    from .canvas_signature import Signature
    from .result import AsyncResult
    from .result_group import ResultSet
    if isinstance(retval, (AsyncResult, ResultSet)) and hasattr(retval, "as_tuple"):
        return retval.as_tuple()
    if isinstance(retval, Signature):
        return _plain(retval)
    return retval


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def _on_retry(task: "Task", request: Context, retry: Retry, args: tuple[Any, ...],
              kwargs: dict[str, Any]) -> Outcome:
    einfo = ExceptionInfo(retry)
    task.on_retry(retry.exc or retry, request.id, args, kwargs, einfo)
    signals.task_retry.send(sender=task, request=request, reason=retry, einfo=einfo)
    return Outcome(states.RETRY, exc=retry, einfo=einfo, retry=retry)


def _on_failure(task: "Task", request: Context, exc: BaseException, args: tuple[Any, ...],
                kwargs: dict[str, Any], backend: Any, reported: BaseException | None = None) -> Outcome:
    """``exc`` is what stopped the task; ``reported`` (if given) is what Celery would report for it."""
    reported = reported or exc
    einfo = ExceptionInfo(reported, exc.__traceback__)
    backend.store_exception(reported)
    _call_errbacks(task, request, reported, einfo)
    backend.fail_downstream(request, reported)
    try:
        task.on_failure(reported, request.id, args, kwargs, einfo)
    except Exception:
        logger.exception("%s.on_failure raised", task.name)
    signals.task_failure.send(sender=task, task_id=request.id, exception=reported, args=args, kwargs=kwargs,
                              traceback=einfo.tb, einfo=einfo)
    return Outcome(states.FAILURE, exc=exc, einfo=einfo)


def _on_interrupt(task: "Task", request: Context, interrupt: JobInterrupt, args: tuple[Any, ...],
                  kwargs: dict[str, Any], backend: Any) -> Outcome:
    """An mrqcore interrupt stopped the call: report it as the state (and exception) its status reads as."""
    if isinstance(interrupt, WorkerInterrupt) and task._effective_acks_late():
        requeue = DelayInterrupt(0, reason="acks_late: requeued after worker shutdown")
        return Outcome(states.state_for_status(requeue.status), exc=requeue)
    reading = states.reading_for_status(interrupt.status)
    if isinstance(interrupt, RevokedInterrupt):
        signals.task_revoked.send(sender=task, request=request, terminated=True, signum=None, expired=False)
        backend.fail_downstream(request, TaskRevokedError(str(interrupt)))
        return Outcome(reading.state, exc=interrupt)
    if isinstance(interrupt, (JobTimeoutInterrupt, WorkerInterrupt)) and reading.exception is not None:
        # Celery reports these as its own exceptions: TimeLimitExceeded(limit), WorkerLostError
        if isinstance(interrupt, JobTimeoutInterrupt):
            detail: Any = (request.timelimit or (None,))[0] or task._time_limits()[0]
        else:
            detail = f"worker stopped while running {request.id}"
        return _on_failure(task, request, interrupt, args, kwargs, backend, reported=reading.exception(detail))
    return Outcome(reading.state, exc=interrupt)


def _after(task: "Task", request: Context, outcome: Outcome, args: tuple[Any, ...],
           kwargs: dict[str, Any]) -> None:
    try:
        task.after_return(outcome.state, outcome.retval if outcome.exc is None else outcome.exc, request.id,
                          args, kwargs, outcome.einfo)
    except Exception:
        logger.exception("%s.after_return raised", task.name)
    signals.task_postrun.send(sender=task, task_id=request.id, task=task, args=args, kwargs=kwargs,
                              retval=outcome.retval if outcome.exc is None else outcome.exc, state=outcome.state)


def _apply_callback(task: "Task", request: Context, sig_dict: Any, args: tuple[Any, ...]) -> None:
    from .canvas_signature import Signature
    sig = Signature.from_dict(sig_dict, app=task._get_app())
    sig.apply_async(args, parent_id=request.id, root_id=request.root_id or request.id)


def _call_errbacks(task: "Task", request: Context, exc: BaseException, einfo: ExceptionInfo) -> None:
    """Celery's rule: an errback taking (request, exc, traceback) runs here and now; one taking
    a single task id is sent as a task with ``(task_id,)``."""
    from .canvas_signature import Signature
    app = task._get_app()
    for sig_dict in request.errbacks or ():
        sig = Signature.from_dict(sig_dict, app=app)
        errback_task = app.tasks.get(sig.task)
        if errback_task is not None and _arity(errback_task, sig) > 1:
            try:
                sig(request, exc, einfo.tb)
            except Exception:
                logger.exception("errback %s raised", sig.task)
            continue
        try:
            eager = app.conf.task_always_eager or (request.delivery_info or {}).get("is_eager", False)
            send = sig.apply if eager else sig.apply_async
            send((request.id,), parent_id=request.id, root_id=request.root_id or request.id)
        except Exception:
            logger.exception("errback %s could not be sent", sig.task)


def _arity(task: "Task", sig: Any = None) -> int:
    """How many positional arguments ``task`` still takes, after those a (mutable) ``sig`` already holds,
    as Celery counts them to tell a (request, exc, traceback) errback from an old-style (task_id) one."""
    try:
        params = list(inspect.signature(task.run).parameters.values())
    except (TypeError, ValueError):
        return 1
    if any(p.kind == p.VAR_POSITIONAL for p in params):
        return 99
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if sig is not None and not sig.immutable and (sig.args or sig.kwargs):
        # stored args fill parameters from the left, stored kwargs by name
        positional = [p for p in positional[len(sig.args):] if p.name not in sig.kwargs]
    return len(positional)


# --- where results go ----------------------------------------------------------------


class WorkerBackend:
    """Writes what the worker learns to the job records and starts what comes next."""

    enforce_limits = True

    def __init__(self, task: "Task", job: Any, meta: dict[str, Any]) -> None:
        self.task, self.job, self.meta = task, job, meta
        self.app = task._get_app()

    @property
    def runtime(self) -> Any:
        return self.job.runtime

    def store_exception(self, exc: BaseException) -> None:
        record = exception_record(exc)
        self.job.finish_fields["exc_info"] = serialization.dumps(record).decode()

    def store_children(self, request: Context) -> None:
        if request.children:
            self.job.finish_fields["children"] = serialization.dumps(list(request.children)).decode()

    def continue_workflow(self, request: Context, retval: Any) -> None:
        from . import workflow
        workflow.on_success(self.app, self.runtime, request, self.meta, retval)

    def fail_downstream(self, request: Context, exc: BaseException) -> None:
        from . import workflow
        workflow.on_failure(self.app, self.runtime, request, self.meta, exc)

    def conclude(self, outcome: Outcome) -> Any:
        """Turn the outcome into what mrqcore expects: a return value or an interrupt."""
        if outcome.state == states.SUCCESS:
            if outcome.ignored:  # app.backend reads it as Celery's backend would: no result stored
                self.job.finish_fields["result_ignored"] = "1"
            return outcome.retval
        if outcome.retry is not None:
            self._retry(outcome.retry)  # raises
        if outcome.state in (states.IGNORED, states.REJECTED):
            exc = outcome.exc
            if isinstance(exc, Reject) and exc.requeue:
                # the next delivery reads delivery_info["redelivered"] True, as after a broker redelivery
                meta = {**self.meta, "redelivered": True}
                self.job.finish_fields["meta"] = serialization.dumps_checked(meta, "meta").decode()
                raise DelayInterrupt(0, reason=f"rejected with requeue: {exc.reason}")
            raise IgnoreInterrupt(f"{type(exc).__name__}: {exc}")
        exc = outcome.exc
        if exc is None:
            raise RuntimeError("no outcome")
        raise exc.with_traceback(exc.__traceback__)

    def _retry(self, retry: Retry | None) -> None:
        assert retry is not None
        sig = retry.sig
        countdown = getattr(retry, "countdown", None)
        eta = getattr(retry, "eta", None)
        delay = float(countdown) if countdown is not None else 0.0
        if eta is not None:
            delay = max(0.0, to_timestamp(eta, "eta") - time.time())  # type: ignore[operator]
        if retry.exc is not None:  # a RETRY state's result is the exception, as in Celery
            self.store_exception(retry.exc)
        queue = None
        if sig is not None:
            queue = sig.options.get("queue") or sig.options.get("routing_key")
            if getattr(retry, "args_changed", False):
                params = {"args": list(sig.args), "kwargs": dict(sig.kwargs)}
                self.job.finish_fields["params"] = serialization.dumps_checked(params, "retry args").decode()
        raise RetryInterrupt(delay=delay, max_retries=self.job.retry_count + 1, queue=queue,
                             exc=retry.exc or retry)


class EagerBackend:
    """``apply()``: nothing is stored; time limits are not enforced (as in Celery's eager mode)."""

    enforce_limits = False

    def store_exception(self, exc: BaseException) -> None:
        pass

    def store_children(self, request: Context) -> None:
        pass

    def continue_workflow(self, request: Context, retval: Any) -> None:
        pass

    def fail_downstream(self, request: Context, exc: BaseException) -> None:
        pass


__all__ = ["run_job", "trace", "Outcome", "ExceptionInfo", "WorkerBackend", "EagerBackend"]
