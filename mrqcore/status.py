"""``JobStatus``: the ten statuses a job record can be in, as one vocabulary.

| status | meaning | final |
|---|---|---|
| ``queued`` | waiting on its queue (or parked in the scheduled set until it is due) | no |
| ``started`` | held by a worker, running | no |
| ``retry`` | failed, asked to run again later (``retry_current_job``) | no |
| ``success`` | returned; the result is in the record | yes |
| ``failed`` | raised an exception | yes |
| ``cancel`` | cancelled before it ran | yes |
| ``abort`` | stopped itself on purpose (``abort_current_job``) | yes |
| ``interrupt`` | the worker stopped while it ran | yes |
| ``timeout`` | ran past its timeout and was killed | yes |
| ``maxretries`` | asked for a retry once too often | yes |

``JobStatus`` is a ``str`` enum: a member equals, hashes and prints as its
plain string (``JobStatus.SUCCESS == "success"``, ``str(JobStatus.SUCCESS) ==
"success"``), so records keep storing the plain strings and code comparing
strings keeps working. ``JobStatus.FINAL`` holds the statuses after which a
job will not run again on its own.

This module imports nothing from mrqcore: every layer (the store, the worker,
compat) can use it.
"""
from __future__ import annotations

import enum
from typing import ClassVar


class JobStatus(str, enum.Enum):
    """A job record's status (see the module docstring for the table)."""

    FINAL: ClassVar[frozenset["JobStatus"]]

    QUEUED = "queued"
    STARTED = "started"
    SUCCESS = "success"
    FAILED = "failed"
    CANCEL = "cancel"
    ABORT = "abort"
    INTERRUPT = "interrupt"
    TIMEOUT = "timeout"
    RETRY = "retry"
    MAXRETRIES = "maxretries"

    def __str__(self) -> str:
        return self.value

    def __format__(self, spec: str) -> str:
        return format(self.value, spec)

    @property
    def is_final(self) -> bool:
        """True if the job will not run again on its own (see ``FINAL``)."""
        return self in JobStatus.FINAL

    @classmethod
    def parse(cls, value: str) -> "JobStatus":
        """The member for a status string; ``ValueError`` naming the value and the valid ones."""
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"unknown job status {value!r}; valid: "
                             f"{', '.join(s.value for s in cls)}") from None


JobStatus.FINAL = frozenset({JobStatus.SUCCESS, JobStatus.FAILED, JobStatus.CANCEL, JobStatus.ABORT,
                             JobStatus.INTERRUPT, JobStatus.TIMEOUT, JobStatus.MAXRETRIES})

__all__ = ["JobStatus"]
