"""Tasks for the reliability tests: odd strings, counted runs. They report through Redis."""
from __future__ import annotations

from mrqcore.context import connections, get_current_job, log, retry_current_job
from mrqcore.task import Task

#: what ``os.listdir`` returns for a file named with the Latin-1 bytes b"caf\xe9"
SURROGATE_NAME = b"caf\xe9".decode("utf-8", "surrogateescape")


class LogSurrogate(Task):
    """Logs a line holding a lone surrogate, then succeeds."""

    def run(self, params):
        log.info("opening %s", SURROGATE_NAME)
        return "logged"


class LogText(Task):
    """Logs ``params['text']`` (any text) and returns its length."""

    def run(self, params):
        log.warning("%s", params["text"])
        return len(params["text"])


class RaiseSurrogate(Task):
    """Raises an exception whose message holds a lone surrogate."""

    def run(self, params):
        raise OSError(f"cannot read {SURROGATE_NAME}")


class RetrySurrogate(Task):
    """Asks for a retry because of an exception whose message holds a lone surrogate."""

    def run(self, params):
        try:
            raise OSError(f"cannot read {SURROGATE_NAME}")
        except OSError:
            retry_current_job(delay=0, max_retries=0)


class ReturnSurrogate(Task):
    """Returns a string holding a lone surrogate: JSON cannot store it."""

    def run(self, params):
        return {"name": SURROGATE_NAME}


class CountRun(Task):
    """Counts each run of this job id in the hash ``params['hash']`` (for the chaos suite)."""

    def run(self, params):
        job = get_current_job()
        connections.redis.hincrby(params["hash"], job.id if job else "local", 1)
        if params.get("sleep"):
            import gevent
            gevent.sleep(params["sleep"])
        return params.get("n")


class RaiseForeign(Task):
    """Raises an exception class that claims to live in ``params['module']`` (e.g. ``this``)."""

    def run(self, params):
        cls = type(params["name"], (Exception,), {"__module__": params["module"]})
        raise cls(params.get("message", "from a foreign module"))


class LogCodepoints(Task):
    """Logs one line made of ``params['codepoints']`` (any, lone surrogates included); returns its length."""

    def run(self, params):
        text = "".join(chr(c) for c in params["codepoints"])
        log.warning("%s", text)
        return len(text)


class RetryToOddQueue(Task):
    """Asks to be retried on a queue whose name holds a lone surrogate."""

    def run(self, params):
        retry_current_job(delay=3600, queue="q-" + SURROGATE_NAME)


class ClobberOwnRecord(Task):
    """Turns its own job record into a string while it runs: its finish cannot be written."""

    def run(self, params):
        job = get_current_job()
        connections.redis.set(job.runtime.keys.job(job.id), "clobbered")
        return "done"
