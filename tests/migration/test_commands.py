"""Command lines: each Celery/MRQ form to today's mrqc command, or left and reported."""
from __future__ import annotations

from pathlib import Path

import pytest

from mrqc.migration import migrate
from mrqc.migration.commands import Converted, convert
from mrqc.migration.targets import Refusal


@pytest.mark.parametrize("command, expected", [
    # mrqc takes Celery's worker, purge and call flags: the command is kept as written
    ("celery -A proj worker -l info -c 8 -Q a,b", "mrqc -A proj worker -l info -c 8 -Q a,b"),
    ("celery worker --app=proj --loglevel=DEBUG --concurrency=2", "mrqc worker --app=proj --loglevel=DEBUG --concurrency=2"),
    ("celery -A proj worker -B -n reports@%h --max-tasks-per-child 100 --max-memory-per-child 204800",
     "mrqc -A proj worker -B -n reports@%h --max-tasks-per-child 100 --max-memory-per-child 204800"),
    ("celery -A proj worker -P gevent -E -Ofair --without-mingle", "mrqc -A proj worker -P gevent -E -Ofair --without-mingle"),
    ("celery -A proj worker -P prefork -c 4 --autoscale=10,3", "mrqc -A proj worker -P prefork -c 4 --autoscale=10,3"),
    ("celery -A proj worker -P solo -O default -s /var/run/beat", "mrqc -A proj worker -P solo -O default -s /var/run/beat"),
    ("celery -A proj worker --events --schedule-filename /x", "mrqc -A proj worker -E --schedule /x"),
    ("celery -b redis://r:6379/1 -A proj worker", "mrqc -A proj worker --redis redis://r:6379/1"),
    ("celery -A proj worker -b redis://r:6379/1 -c 2", "mrqc -A proj worker --redis redis://r:6379/1 -c 2"),
    ("python -m celery -A proj worker", "mrqc -A proj worker"),
    ("/venv/bin/celery -A proj beat -l info -s /var/run/beat", "/venv/bin/mrqc beat -A proj -l info -s /var/run/beat"),
    ("celery -A proj purge -f -Q a,b", "mrqc -A proj purge -f -Q a,b"),
    ("celery -A proj purge -X c", "mrqc -A proj purge -X c"),
    # remote control: kept as written when mrqc serves the verb (mrqc.cli_control's tables)
    ("celery -A proj control revoke 1234", "mrqc -A proj control revoke 1234"),
    ("celery -A proj control revoke --terminate --signal SIGKILL 12 13",
     "mrqc -A proj control revoke --terminate --signal SIGKILL 12 13"),
    ("celery -A proj control terminate SIGKILL 12", "mrqc -A proj control terminate SIGKILL 12"),
    ("celery -A proj control rate_limit proj.add 10/m -d w1@h,w2@h", "mrqc -A proj control rate_limit proj.add 10/m -d w1@h,w2@h"),
    ("celery -A proj control time_limit proj.add 10 20", "mrqc -A proj control time_limit proj.add 10 20"),
    ("celery -A proj control pool_grow 2 --timeout=5", "mrqc -A proj control pool_grow 2 --timeout=5"),
    ("celery -A proj control autoscale 10 3", "mrqc -A proj control autoscale 10 3"),
    ("celery -A proj control add_consumer reports", "mrqc -A proj control add_consumer reports"),
    ("celery -A proj control shutdown --destination=w1@h", "mrqc -A proj control shutdown --destination=w1@h"),
    ("celery -A proj control pool_shrink $N", "mrqc -A proj control pool_shrink $N"),
    ("celery -A proj inspect active", "mrqc -A proj inspect active"),
    ("celery -A proj inspect stats -t 5 -j", "mrqc -A proj inspect stats -t 5 -j"),
    ("celery --app=proj inspect registered -d w1@h", "mrqc --app=proj inspect registered -d w1@h"),
    ("celery -A proj inspect query_task id1 id2", "mrqc -A proj inspect query_task id1 id2"),
    ("celery -b redis://r:6379/1 -A proj inspect ping", "mrqc -A proj inspect --redis redis://r:6379/1 ping"),
    ("/venv/bin/celery -A proj inspect reserved", "/venv/bin/mrqc -A proj inspect reserved"),
    ("celery -A proj status -t 3", "mrqc -A proj inspect ping -t 3"),
    ("celery -A proj events --dump", "mrqc -A proj events"),
    ("celery -A proj result 1234 --traceback", "mrqc result -A proj --traceback 1234"),
    ("celery -A proj call proj.add --args=[1,2] --queue math", "mrqc -A proj call proj.add --args=[1,2] --queue math"),
    ("celery -A proj call proj.add -a [1,2] -k {} --countdown 10", "mrqc -A proj call proj.add -a [1,2] -k {} --countdown 10"),
    ("celery -A proj report", "mrqc -A proj report"),
    ("mrq-worker high default --greenlets 10 --max_jobs 5 --scheduler",
     "mrqc worker high default --greenlets 10 --max_jobs 5 --scheduler"),
    ("mrq-worker --gevent 3 default", "mrqc worker --greenlets 3 default"),
    ("mrq-run tasks.Add {} --queue q", "mrqc run tasks.Add {} --queue q"),
])
def test_converts(command: str, expected: str) -> None:
    result = convert(command.split(" "))
    assert isinstance(result, Converted), result
    assert " ".join(result.argv) == expected


def test_notes_name_what_was_respelled_or_dropped() -> None:
    result = convert("celery -q -A proj worker --prefetch-multiplier 4 --events -c 2".split(" "))
    assert isinstance(result, Converted) and " ".join(result.argv) == "mrqc -A proj worker -E -c 2"
    assert result.notes == ["dropped -q: plain output", "dropped --prefetch-multiplier 4: no prefetch in mrqc",
                            "--events -> -E"]


@pytest.mark.parametrize("command, notes", [
    ("celery -A proj status", ["celery status -> mrqc inspect ping"]),
    ("celery -A proj events", ["the curses monitor) -> mrqc events"]),
    ("celery -A proj events -d", ["dropped -d: mrqc events always prints events as lines"]),
    ("celery -A proj inspect ping -d celery@$HOSTNAME", ["-n celery@%h"]),
    ("celery -A proj inspect ping -d web@$HOSTNAME", []),
])
def test_remote_control_notes(command: str, notes: list[str]) -> None:
    result = convert(command.split(" "))
    assert isinstance(result, Converted), result
    assert len(result.notes) == len(notes) and all(n in got for n, got in zip(notes, result.notes)), result.notes


def test_remote_control_verbs_are_mrqcs() -> None:
    """Every verb mrqc inspect/control serves converts; Celery's other verbs are refused, naming the verb."""
    from mrqc.cli_control import CONTROL_COMMANDS, INSPECT_COMMANDS
    from celery.worker.control import Panel  # real Celery, a test dependency
    celery_panel = Panel.meta
    for sub, served in (("inspect", INSPECT_COMMANDS), ("control", CONTROL_COMMANDS)):
        for verb in {name for name, info in celery_panel.items() if info.type == sub and info.visible} | set(served):
            result = convert(["celery", "-A", "proj", sub, verb])
            if verb in served:
                assert isinstance(result, Converted) and result.argv == ["mrqc", "-A", "proj", sub, verb], result
            else:
                assert isinstance(result, Refusal) and f"celery {sub} {verb} is not served" in result.reason, result
    assert isinstance(convert("celery -A proj control pool_restart".split()), Refusal)  # Celery has it; mrqc not


def test_converted_remote_control_lines_parse_as_mrqc_commands() -> None:
    """What is kept as written, the real ``mrqc inspect``/``mrqc control`` click commands take."""
    from mrqcore.cli import _register_extensions, cli
    _register_extensions()
    for command in ("celery -A proj inspect stats -t 5 -j -d w1@h", "celery -A proj control revoke --terminate a b",
                    "celery -A proj control time_limit proj.add 10 20 --timeout=2", "celery -A proj status -d w@h",
                    "celery -A proj events --dump", "celery -b redis://r:6379/1 -A proj inspect ping"):
        result = convert(command.split(" "))
        assert isinstance(result, Converted), result
        args = result.argv[1:]
        assert args[:2] == ["-A", "proj"]
        name, rest = args[2], args[3:]
        ctx = cli.commands[name].make_context(name, list(rest))
        assert ctx.params.get("app") is None  # -A went to the group, as mrqc -A proj COMMAND


@pytest.mark.parametrize("command, reason", [
    ("celery -A proj worker -P eventlet", "-P eventlet: mrqc workers are gevent workers"),
    ("celery -A proj worker --pool=threads", "mrqc has no thread pool"),
    ("celery -A proj worker -O weird", "mrqc takes -O fair or -O default"),
    ("celery -A proj worker -n w1@%i", "unknown %-sequence '%i'"),
    ("celery -A proj worker --time-limit 30", "--time-limit 30 has no mrqc equivalent"),
    ("celery -A proj worker --pidfile=/run/w.pid --detach", "--pidfile=/run/w.pid has no mrqc equivalent"),
    ("celery -A proj worker --purge", "--purge has no mrqc equivalent"),
    ("celery -A proj inspect memdump", "celery inspect memdump is not served by mrqc"),
    ("celery -A proj inspect conf", "celery inspect conf is not served by mrqc"),
    ("celery -A proj control pool_restart --reload", "celery control pool_restart is not served by mrqc"),
    ("celery -A proj control election id topic", "celery control election is not served by mrqc"),
    ("celery -A proj control heartbeat", "celery control heartbeat is not served by mrqc"),
    ("celery -A proj inspect", "celery inspect without a command"),
    ("celery -A proj control $CMD", "the command is a variable"),
    ("celery -A proj control pool_grow many", "pool_grow: n must be a whole number, got 'many'"),
    ("celery -A proj control time_limit proj.add 1 2 3", "got extra '3'"),
    ("celery -A proj status extra", "celery status takes no arguments"),
    ("celery -A proj inspect active --list", "--list has no mrqc equivalent"),
    ("celery -A proj events -c myapp.Camera --frequency 2", "event snapshots"),
    ("celery -A proj events --pidfile /run/ev.pid", "--pidfile /run/ev.pid has no mrqc equivalent"),
    ("celery multi start w1 -A proj", "celery multi"),
    ("celery -A proj beat -S django_celery_beat.schedulers:DatabaseScheduler", "custom beat scheduler"),
    ("celery -b amqp://guest@rabbit// -A proj worker", "not Redis"),
    ("celery -A proj call proj.add --serializer json", "--serializer json has no mrqc equivalent"),
    ("celery -A proj worker --frobnicate", "--frobnicate has no mrqc equivalent"),
    ("mrq-worker --mongodb_jobs mongodb://m/jobs default", "--mongodb_jobs has no mrqc worker equivalent"),
])
def test_refuses(command: str, reason: str) -> None:
    result = convert(command.split(" "))
    assert isinstance(result, Refusal), result
    assert reason in result.reason and result.action


def test_converted_worker_lines_are_accepted_by_mrqc_worker() -> None:
    """What the table keeps as written, mrqc worker's own flag parsing takes (no stale table)."""
    import click

    from mrqcore.cli import cli
    from mrqcore.worker_flags import plan_worker
    for command in ("celery -A proj worker -l info -c 8 -Q a,b -n w@%h -P gevent -E -Ofair --without-gossip",
                    "celery -A proj worker -P prefork -c 2 --autoscale=4,1 --max-tasks-per-child 10 -B"):
        result = convert(command.split(" "))
        assert isinstance(result, Converted)
        args = result.argv[result.argv.index("worker") + 1:]
        ctx = cli.commands["worker"].make_context("worker", list(args))
        plan_worker(tuple(ctx.params.pop("queues", ()) or ()), ctx.params)
        assert isinstance(ctx, click.Context)


def test_every_mrqc_flag_written_exists() -> None:
    """The tables are checked against the real click commands (a stale table raises, not writes)."""
    from mrqc.migration.commands import _mrqc_flags
    for flag in ("--greenlets", "--log-level", "--scheduler", "--max-jobs", "--max-memory", "--name", "--redis", "-A"):
        assert flag in _mrqc_flags("worker")
    assert {"-A", "-l", "-s", "--max-interval"} <= _mrqc_flags("beat")


FILES = {
    "Procfile": ("worker: celery -A proj worker -c 4  # four\nweb: gunicorn proj.wsgi\n",
                 "worker: mrqc -A proj worker -c 4  # four\nweb: gunicorn proj.wsgi\n"),
    "run.sh": ("#!/bin/sh\nset -e\nexec celery -A proj worker \\\n  -l info -Q a,b >> /var/log/w.log 2>&1\n"
               "pip install celery redis\n",
               "#!/bin/sh\nset -e\nexec mrqc -A proj worker -l info -Q a,b >> /var/log/w.log 2>&1\n"
               "pip install celery redis\n"),
    "Dockerfile": ('FROM python:3.12\nRUN pip install celery\nCMD ["celery", "-A", "proj", "worker", "-c", "2"]\n',
                   'FROM python:3.12\nRUN pip install celery\nCMD ["mrqc", "-A", "proj", "worker", "-c", "2"]\n'),
    "worker.service": ("[Service]\nExecStart=/srv/venv/bin/celery -A proj worker -l warning\nRestart=always\n",
                       "[Service]\nExecStart=/srv/venv/bin/mrqc -A proj worker -l warning\nRestart=always\n"),
    "supervisord.conf": ("[program:worker]\ncommand=celery -A proj worker -c 3\nautostart=true\n",
                         "[program:worker]\ncommand=mrqc -A proj worker -c 3\nautostart=true\n"),
    "docker-compose.yml": ("services:\n  worker:\n    image: celery\n    command: celery -A proj worker -B\n"
                           "  beat:\n    command: [\"celery\", \"-A\", \"proj\", \"beat\"]\n"
                           "  shell:\n    command: sh -c 'sleep 1 && celery -A proj worker -c 2'\n",
                           "services:\n  worker:\n    image: celery\n    command: mrqc -A proj worker -B\n"
                           "  beat:\n    command: [\"mrqc\", \"beat\", \"-A\", \"proj\"]\n"
                           "  shell:\n    command: sh -c 'sleep 1 && mrqc -A proj worker -c 2'\n"),
    "k8s.yaml": ("containers:\n  - name: w\n    command: [celery]\n    args: [-A, proj, worker, -Q, \"a,b\"]\n"
                 "  - name: b\n    command:\n      - celery\n    args:\n      - -A\n      - proj\n      - beat\n",
                 "containers:\n  - name: w\n    command: [mrqc]\n    args: [-A, proj, worker, -Q, \"a,b\"]\n"
                 "  - name: b\n    command:\n      - mrqc\n    args:\n      - beat\n      - -A\n      - proj\n"),
}


@pytest.mark.parametrize("name", sorted(FILES))
def test_text_files(tmp_path: Path, name: str) -> None:
    before, after = FILES[name]
    (tmp_path / name).write_text(before)
    report = migrate([tmp_path], mode="write", root=str(tmp_path))
    assert (tmp_path / name).read_text() == after
    assert report.exit_code == 0, report.summary()
    migrate([tmp_path], mode="write", root=str(tmp_path))
    assert (tmp_path / name).read_text() == after  # idempotent


def test_from_mrq_leaves_celery_commands(tmp_path: Path) -> None:
    (tmp_path / "Procfile").write_text("a: celery -A proj worker\nb: mrq-worker default\n")
    migrate([tmp_path], mode="write", source="mrq", root=str(tmp_path))
    assert (tmp_path / "Procfile").read_text() == "a: celery -A proj worker\nb: mrqc worker default\n"
    migrate([tmp_path], mode="write", source="celery", root=str(tmp_path))
    assert (tmp_path / "Procfile").read_text() == "a: mrqc -A proj worker\nb: mrqc worker default\n"


def test_pytest_plugin_in_pytest_config(tmp_path: Path) -> None:
    (tmp_path / "pytest.ini").write_text("[pytest]\naddopts = -p celery.contrib.pytest -q\n")
    (tmp_path / "pyproject.toml").write_text('[project]\ndependencies = ["celery>=5"]\n')
    report = migrate([tmp_path], mode="write", root=str(tmp_path))
    assert (tmp_path / "pytest.ini").read_text() == "[pytest]\naddopts = -p mrqc.contrib.pytest -q\n"
    assert (tmp_path / "pyproject.toml").read_text() == '[project]\ndependencies = ["celery>=5"]\n'  # deps are yours
    assert [(f.file, f.line) for f in report.of_kind("changed")] == [("pytest.ini", 2)]
