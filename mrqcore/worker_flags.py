"""``mrqc worker``'s flags as Celery and MRQ users type them, turned into mrqcore settings.

A Procfile line written for Celery (``celery -A proj worker -l INFO -c 8 -Q a,b
-n web@%h -P gevent -B``) or for MRQ (``mrq-worker --max_jobs 100 high low``)
starts an mrqc worker that does what the line means. Each flag either maps onto
a setting or is accepted with no effect for a stated reason (docs/worker.md has
the table); what cannot be honoured is a UsageError naming the flag.

| flag | mrqc |
|---|---|
| ``-c/--concurrency N`` | ``greenlets`` (``-P prefork``: N processes of one greenlet each) |
| ``-P/--pool gevent|solo|prefork`` | gevent (default); solo: one job at a time, unpatched; prefork: ``--processes`` |
| ``-Q/--queues a,b`` | two queues (repeatable, merged with the positional QUEUES) |
| ``-n/--hostname NAME`` | worker name, ``%h``/``%n``/``%d`` expanded as Celery does |
| ``-B/--beat`` | ``--scheduler`` |
| ``--autoscale MAX,MIN`` | MAX jobs at once, always (no scaling: an idle greenlet costs nothing) |
| ``--max-tasks-per-child N`` | ``max_jobs`` (the process exits after N jobs; with ``-P prefork`` it is replaced) |
| ``--max-memory-per-child KiB`` | ``max_memory`` (MB, rounded up) |
| ``-E``, ``-O fair|default``, ``--without-gossip/-mingle/-heartbeat``, ``-s FILE`` | accepted, no effect |

This module is the translation only; the command is ``mrqcore.cli.worker``.
"""
from __future__ import annotations

import math
import os
import socket
from dataclasses import dataclass
from typing import Any, Callable

import click

#: ``-P`` values and what mrqc runs for them
POOLS = ("gevent", "solo", "prefork")
#: ``-P`` values Celery has and mrqc refuses, with why
REFUSED_POOLS = {
    "eventlet": "mrqc workers are gevent workers: use -P gevent",
    "threads": "mrqc has no thread pool; gevent greenlets run jobs concurrently: use -P gevent -c N",
    "processes": "use -P prefork (or --processes N)",
}


@dataclass
class WorkerPlan:
    """What the flags ask for: mrqcore settings (``overrides``) and the pool of each process
    (``mrqcore.pools``: gevent or solo; ``-P prefork`` is ``processes`` of gevent workers)."""

    overrides: dict[str, Any]
    pool: str = "gevent"


def worker_flag_options(func: Callable[..., Any]) -> Callable[..., Any]:
    """The Celery-named worker flags (see the module table); each lands in ``**flags`` of the command."""
    options = [
        click.option("--concurrency", "-c", "concurrency", type=click.IntRange(min=1), default=None,
                     help="Celery's -c: jobs at once (greenlets; with -P prefork, processes)."),
        click.option("--pool", "-P", "pool", default=None, metavar="gevent|solo|prefork",
                     help="gevent (default), solo (one job at a time, no gevent patching), "
                          "prefork (= --processes, -c of them)."),
        click.option("--queues", "-Q", "queue_lists", multiple=True, metavar="A,B",
                     help="Comma-separated queues to serve (repeatable; added to QUEUES)."),
        click.option("--beat", "-B", "beat", is_flag=True, default=False, help="Celery's -B: same as --scheduler."),
        click.option("--autoscale", default=None, metavar="MAX,MIN",
                     help="Run MAX jobs at once (no scaling: idle greenlets cost nothing)."),
        click.option("--max-tasks-per-child", "max_tasks_per_child", type=click.IntRange(min=1), default=None,
                     help="Same as --max-jobs: exit after N jobs (with prefork the process is replaced)."),
        click.option("--max-memory-per-child", "max_memory_per_child", type=click.IntRange(min=1), default=None,
                     help="KiB, as Celery: same as --max-memory (MB, rounded up)."),
        click.option("--task-events", "-E", "task_events", is_flag=True, default=False,
                     help="Accepted, no effect: job records always carry their events (see mrqc events)."),
        click.option("-O", "optimization", type=click.Choice(["fair", "default"], case_sensitive=False), default=None,
                     help="Accepted, no effect: a worker only takes as many jobs as it has free greenlets."),
        click.option("--without-gossip", is_flag=True, default=False, help="Accepted, no effect: no gossip."),
        click.option("--without-mingle", is_flag=True, default=False, help="Accepted, no effect: no mingle."),
        click.option("--without-heartbeat", is_flag=True, default=False,
                     help="Accepted, no effect: the store heartbeat stays (recovery of lost jobs needs it)."),
        click.option("--schedule", "-s", "schedule_file", default=None, metavar="FILE",
                     help="Accepted, no effect: the scheduler keeps its state in the store."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def plan_worker(queues: tuple[str, ...], flags: dict[str, Any]) -> WorkerPlan:
    """Turn the worker command's arguments into settings; a flag that cannot be honoured is a UsageError.

    ``flags`` are the command's keyword arguments (MRQ's: ``greenlets``,
    ``processes``, ``max_jobs``... and Celery's from ``worker_flag_options``).
    """
    pool = (flags.get("pool") or "gevent").strip().lower()
    if pool in REFUSED_POOLS:
        raise click.UsageError(f"-P {pool}: {REFUSED_POOLS[pool]}")
    if pool not in POOLS:
        raise click.UsageError(f"-P {pool!r}: unknown pool; choose one of {', '.join(POOLS)}")
    greenlets, processes = flags.get("greenlets"), flags.get("processes")
    concurrency = flags.get("concurrency")
    autoscale = parse_autoscale(flags.get("autoscale"))
    if concurrency is None and autoscale is not None:
        concurrency = autoscale
    if pool == "prefork":
        if concurrency is not None and processes is not None and concurrency != processes:
            raise click.UsageError(f"-P prefork -c {concurrency} and --processes {processes} disagree: give one")
        processes = processes or concurrency or os.cpu_count() or 1
        greenlets = greenlets or 1  # Celery's prefork child runs one task at a time
    else:
        if concurrency is not None and greenlets is not None and concurrency != greenlets:
            raise click.UsageError(f"-c {concurrency} and --greenlets {greenlets} disagree: give one")
        greenlets = greenlets or concurrency
    if pool == "solo":
        if greenlets not in (None, 1):
            raise click.UsageError(f"-P solo runs one job at a time: -c/--greenlets {greenlets} cannot apply")
        if processes:
            raise click.UsageError("-P solo runs in this one process: --processes cannot apply (use -P prefork)")
    max_jobs = _one_of(flags, "max_jobs", "max_tasks_per_child", "--max-jobs", "--max-tasks-per-child")
    memory_kib = flags.get("max_memory_per_child")
    max_memory = _one_of({"max_memory": flags.get("max_memory"),
                          "per_child": None if memory_kib is None else math.ceil(memory_kib / 1024)},
                         "max_memory", "per_child", "--max-memory", "--max-memory-per-child")
    name = flags.get("name")
    overrides: dict[str, Any] = {
        "greenlets": greenlets, "processes": processes, "max_jobs": max_jobs, "max_time": flags.get("max_time"),
        "max_memory": max_memory, "burst": flags.get("burst"),
        "scheduler": True if flags.get("beat") else flags.get("scheduler"),
        "name": expand_node_name(name) if name else None,
    }
    served = queue_names(queues, flags.get("queue_lists") or ())
    if served:
        overrides["queues"] = served
    return WorkerPlan(overrides, "gevent" if pool == "prefork" else pool)  # prefork: gevent processes


def queue_names(positional: tuple[str, ...], lists: tuple[str, ...]) -> list[str]:
    """QUEUES then each ``-Q a,b``, in order, without repeats. A comma in a positional name is an error:
    ``mrqc worker a,b`` would otherwise serve one queue named ``a,b``."""
    names: list[str] = []
    for name in positional:
        if "," in name:
            parts = " ".join(part for part in name.split(",") if part)
            raise click.UsageError(f"queue name {name!r} contains a comma: to serve several queues use "
                                   f"-Q {name} or list them as arguments ({parts})")
        names.append(name)
    for value in lists:
        parts = [part.strip() for part in value.split(",")]
        if not all(parts):
            raise click.UsageError(f"-Q {value!r}: an empty queue name (write -Q a,b)")
        names.extend(parts)
    return list(dict.fromkeys(names))


def parse_autoscale(value: str | None) -> int | None:
    """``--autoscale MAX,MIN`` (or ``MAX``) -> MAX; MIN is checked, then ignored (no scaling)."""
    if value is None:
        return None
    parts = [part.strip() for part in str(value).split(",")]
    try:
        numbers = [int(part) for part in parts]
    except ValueError:
        numbers = []
    if not 1 <= len(numbers) <= 2 or min(numbers) < 0 or numbers[0] < 1 or numbers[-1] > numbers[0]:
        raise click.UsageError(f"--autoscale {value!r}: write MAX,MIN with whole numbers, MAX >= MIN, MAX >= 1")
    return numbers[0]


def expand_node_name(name: str, hostname: str | None = None) -> str:
    """Celery's ``-n`` expansion: ``%h`` the host name, ``%n`` its first label, ``%d`` its domain, ``%%`` a %.

    Any other ``%`` sequence is a UsageError naming it (Celery's ``%i``/``%I``
    are for log and pid files, which mrqc workers do not take).
    """
    host = hostname if hostname is not None else socket.gethostname()
    short, _, domain = host.partition(".")
    table = {"h": host, "n": short, "d": domain, "%": "%"}
    out: list[str] = []
    index = 0
    while index < len(name):
        char = name[index]
        if char != "%":
            out.append(char)
            index += 1
            continue
        code = name[index + 1:index + 2]
        if code not in table:
            raise click.UsageError(f"-n {name!r}: unknown %-sequence {'%' + code!r} (use %h, %n, %d or %%)")
        out.append(table[code])
        index += 2
    return "".join(out)


def _one_of(values: dict[str, Any], first: str, second: str, first_flag: str, second_flag: str) -> Any:
    a, b = values.get(first), values.get(second)
    if a is not None and b is not None and a != b:
        raise click.UsageError(f"{first_flag} {a} and {second_flag} {b} disagree: give one")
    return a if a is not None else b
