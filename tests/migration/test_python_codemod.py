"""The Python codemods: every import form, settings modules, MRQ code bases."""
from __future__ import annotations

from pathlib import Path

import pytest

from mrqc.migration import Report, migrate


def convert(tmp_path: Path, files: dict[str, str], source: str = "auto") -> tuple[dict[str, str], Report]:
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    report = migrate([tmp_path], mode="write", source=source, root=str(tmp_path))
    out = {str(p.relative_to(tmp_path)): p.read_text() for p in tmp_path.rglob("*") if p.is_file()}
    return out, report


@pytest.mark.parametrize("before, after", [
    ("import celery as c\nc.group([])\n", "import mrqc as c\nc.group([])\n"),
    ("from celery import shared_task as st, Task\n", "from mrqc import shared_task as st, Task\n"),
    ("from celery.app.task import Task\n", "from mrqc.task import Task\n"),
    ("from celery.contrib.testing.worker import start_worker\n", "from mrqc.contrib.testing import start_worker\n"),
    ("from celery.schedules import *\n", "from mrqc.schedules import *\n"),
    ("import celery.schedules\ns = celery.schedules.crontab(minute=0)\n",
     "import mrqc.schedules\ns = mrqc.schedules.crontab(minute=0)\n"),
    ("from celery import states\nassert states.SUCCESS\n", "from mrqc import states\nassert states.SUCCESS\n"),
    ("from celery.result import AsyncResult, GroupResult\n", "from mrqc.result import AsyncResult, GroupResult\n"),
    ("pytest_plugins = ['celery.contrib.pytest']\n", "pytest_plugins = ['mrqc.contrib.pytest']\n"),
    # untouched: relative and project-local celery modules, names that only look alike
    ("from .celery import app\nfrom proj.celery import app as a2\n", None),
    ("def f(celery):\n    return celery.group\n", None),
    ("celery_app = object()\nx = 'celery -A proj worker'\n", None),
])
def test_import_forms(tmp_path: Path, before: str, after: str | None) -> None:
    out, report = convert(tmp_path, {"m.py": before})
    assert out["m.py"] == (before if after is None else after)
    assert report.exit_code == 0, report.summary()


def test_attribute_without_mrqc_counterpart_leaves_the_whole_import(tmp_path: Path) -> None:
    source = "import celery\n\nclass S(celery.bootsteps.StartStopStep):\n    pass\n\napp = celery.Celery()\n"
    out, report = convert(tmp_path, {"m.py": source})
    assert out["m.py"] == source
    [left] = report.of_kind("left")
    assert (left.line, left.construct) == (3, "celery.bootsteps.StartStopStep")


def test_name_missing_in_mrqc_is_split_off_and_reported(tmp_path: Path) -> None:
    out, report = convert(tmp_path, {"m.py": "from celery.signals import task_success, user_preload_options\n"})
    assert out["m.py"] == "from mrqc.signals import task_success\nfrom celery.signals import user_preload_options\n"
    [left] = report.of_kind("left")
    assert "user_preload_options" in left.reason and left.line == 1


def test_celeryconfig_module_old_names_to_new(tmp_path: Path) -> None:
    out, report = convert(tmp_path, {
        "proj/app.py": "from celery import Celery\napp = Celery('proj')\napp.config_from_object('proj.celeryconf')\n",
        "proj/celeryconf.py": "BROKER_URL = 'redis://r'\nCELERY_ALWAYS_EAGER = True  # tests\nCELERYD_CONCURRENCY = 4\n"
                              "helper = 3\n"})
    assert out["proj/celeryconf.py"] == ("broker_url = 'redis://r'\ntask_always_eager = True  # tests\n"
                                         "worker_concurrency = 4\nhelper = 3\n")
    assert report.exit_code == 0


def test_django_settings_with_namespace(tmp_path: Path) -> None:
    out, report = convert(tmp_path, {
        "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n"
                          "app.config_from_object('django.conf:settings', namespace='CELERY')\n",
        "proj/settings.py": "INSTALLED_APPS = []\nCELERY_BROKER_URL = 'redis://r'\nCELERY_ALWAYS_EAGER = True\n"
                            "CELERYBEAT_SCHEDULE = {}\nCELERY_WORKER_AUTOSCALER = 'x'\nCELERY_TASK_ROUTES = {}\n"})
    assert out["proj/settings.py"] == ("INSTALLED_APPS = []\nCELERY_BROKER_URL = 'redis://r'\n"
                                       "CELERY_TASK_ALWAYS_EAGER = True\nCELERY_BEAT_SCHEDULE = {}\n"
                                       "CELERY_WORKER_AUTOSCALER = 'x'\nCELERY_TASK_ROUTES = {}\n")
    [left] = report.of_kind("left")  # a setting compat refuses is left and named
    assert left.file == "proj/settings.py" and left.line == 5 and "greenlets are fixed" in left.reason


def test_django_settings_without_namespace_keep_old_names(tmp_path: Path) -> None:
    settings = "INSTALLED_APPS = []\nCELERY_ALWAYS_EAGER = True\nBROKER_URL = 'redis://r'\n"
    out, report = convert(tmp_path, {
        "proj/celery.py": "from celery import Celery\napp = Celery('proj')\n"
                          "app.config_from_object('django.conf:settings')\n",
        "proj/settings.py": settings})
    assert out["proj/settings.py"] == settings  # compat reads the old names as they are
    assert report.exit_code == 0


def test_conf_update_and_assignment(tmp_path: Path) -> None:
    out, report = convert(tmp_path, {"m.py": "from celery import Celery\napp = Celery()\n"
                                             "app.conf.update(CELERYD_CONCURRENCY=4, result_expires=60)\n"
                                             "app.conf.CELERY_ALWAYS_EAGER = True\n"
                                             "app.conf.update({'task_compression': 'gzip'})\n"})
    assert "app.conf.update(worker_concurrency=4, result_expires=60)\napp.conf.task_always_eager = True\n" \
        in out["m.py"]
    [left] = report.of_kind("left")
    assert left.line == 5 and "compression" in left.reason


def test_task_options_checked_with_compats_table(tmp_path: Path) -> None:
    out, report = convert(tmp_path, {"m.py": "from celery import shared_task\n\n"
                                             "@shared_task(serializer='json', max_retries=2, acks_late=True)\n"
                                             "def ok(): pass\n\n"
                                             "@shared_task(serializer='pickle', retry_bakoff=True)\n"
                                             "def bad(): pass\n"})
    reasons = sorted(f.reason for f in report.of_kind("left"))
    assert len(reasons) == 2 and all(f.line == 6 for f in report.of_kind("left"))
    assert "only JSON is supported" in reasons[0] or "only JSON is supported" in reasons[1]
    assert any("unknown task option 'retry_bakoff'" in r and "retry_backoff" in r for r in reasons)


def test_str_replace_is_not_task_replace(tmp_path: Path) -> None:
    out, report = convert(tmp_path, {"m.py": "from celery import shared_task\n\n@shared_task(bind=True)\n"
                                             "def f(self, s):\n    return s.replace('a', 'b')\n"})
    assert report.exit_code == 0


REMOTE = """from celery import Celery

app = Celery("proj", broker="redis://localhost:6379/0")


def ops(task_id):
    app.control.inspect(timeout=2).active()
    app.control.inspect().registered("rate_limit")
    app.control.ping(destination=["w1@h"])
    app.control.revoke(task_id, terminate=True)
    app.control.rate_limit("proj.add", "10/m")
    app.control.time_limit("proj.add", soft=10, hard=20)
    app.control.pool_grow(2)
    app.control.autoscale(10, 3)
    app.control.add_consumer("reports", reply=True)
    app.control.broadcast("shutdown", destination=["w1@h"])
    app.control.purge()
    app.control.pool_restart(reload=True)
    app.control.inspect().memdump()
    app.control.broadcast("heartbeat")
    app.control.broadcast(command="election", arguments={})
    app.control.broadcast(name_from_config)
"""


def test_remote_control_calls_mrqc_serves_are_kept(tmp_path: Path) -> None:
    out, report = convert(tmp_path, {"m.py": REMOTE})
    assert out["m.py"] == REMOTE.replace("from celery import Celery", "from mrqc import Celery")
    left = {(f.line, f.reason.split(":")[0].split(" is not")[0]) for f in report.of_kind("left")}
    assert left == {(18, "app.control.pool_restart()"), (19, "app.control.inspect().memdump()"),
                    (20, "app.control.broadcast('heartbeat')"), (21, "app.control.broadcast('election')")}, left
    assert all("docs/remote-control.md" in f.action for f in report.of_kind("left"))


def test_remote_control_methods_follow_compat(tmp_path: Path) -> None:
    """Each of Celery's own app.control methods: kept when compat's Control has it, else reported by name."""
    from mrqc.control_remote import Control
    from celery.app.control import Control as celery_control  # real Celery, a test dependency
    names = sorted(n for n in vars(celery_control) if not n.startswith("_") and callable(vars(celery_control)[n]))
    source = "from celery import Celery\n\napp = Celery('p')\n" + "".join(f"app.control.{n}()\n" for n in names)
    _, report = convert(tmp_path, {"m.py": source})
    reported = {f.construct.rsplit(".", 1)[-1] for f in report.of_kind("left")}
    assert reported == {n for n in names if not hasattr(Control, n)}
    assert {"pool_restart", "election", "heartbeat"} <= reported and "rate_limit" not in reported


# --- MRQ ------------------------------------------------------------------------------------

def test_mrq_imports(tmp_path: Path) -> None:
    out, report = convert(tmp_path, {"t.py": "from mrq.task import Task\nfrom mrq.context import log, connections\n"
                                             "import mrq.job\nfrom mrq.dashboard.app import app\n\n"
                                             "def f():\n    return mrq.job.Job\n"}, source="mrq")
    assert out["t.py"] == ("from mrqcore.task import Task\nfrom mrqcore.context import log, connections\n"
                           "import mrqcore.job\nfrom mrq.dashboard.app import app\n\ndef f():\n    return mrqcore.job.Job\n")
    [left] = report.of_kind("left")
    assert left.line == 4 and "dashboard" in left.reason


def test_mrq_config_becomes_mrqc_config(tmp_path: Path) -> None:
    config = ("import os\n\nREDIS = os.environ.get('REDIS', 'redis://127.0.0.1:6379/9')\n"
              "MONGODB_JOBS = 'mongodb://127.0.0.1:27017/mrq'\nGREENLETS = 4\nDEFAULT_JOB_TIMEOUT = 600\n"
              "QUEUES = ['high', 'default']\n")
    out, report = convert(tmp_path, {"mrq-config.py": config}, source="mrq")
    assert out["mrq-config.py"] == config  # kept
    assert out["mrqc_config.py"] == config.replace("MONGODB_JOBS = 'mongodb://127.0.0.1:27017/mrq'\n", "")
    [left] = report.of_kind("left")
    assert left.line == 4 and "MONGODB_JOBS" in left.construct
    from mrqcore.config import Config
    loaded = Config.load(config_file=str(tmp_path / "mrqc_config.py"), env={})
    assert (loaded.greenlets, loaded.timeout, loaded.queues) == (4, 600, ["high", "default"])
    # a second run writes nothing and reports the same
    again = migrate([tmp_path], mode="write", source="mrq", root=str(tmp_path))
    assert again.files_changed == [] and len(again.of_kind("left")) == 1


def test_mrq_config_names_read_through_mrqcores_table(tmp_path: Path) -> None:
    """MRQ's LOG_FORMAT (a %-format) becomes LOG_WORKER_FORMAT; no-effect and refused names are left
    out with mrqcore's reason; the result loads."""
    config = ("LOG_FORMAT = '%(asctime)s %(message)s'\nREDIS_MAX_CONNECTIONS = 100\n"
              "DASHBOARD_HTTPAUTH = 'a:b'\nMAX_LATENCY = 2\nDEQUEUE_STRATEGY = 'sequential'\n")
    out, report = convert(tmp_path, {"mrq-config.py": config}, source="mrq")
    assert out["mrqc_config.py"] == ("LOG_WORKER_FORMAT = '%(asctime)s %(message)s'\nMAX_LATENCY = 2\n"
                                     "DEQUEUE_STRATEGY = 'sequential'\n")
    left = {note.construct.split()[0]: note for note in report.of_kind("left")}
    assert set(left) == {"REDIS_MAX_CONNECTIONS", "DASHBOARD_HTTPAUTH"}
    assert "no effect in mrqc: redis-py pools" in left["REDIS_MAX_CONNECTIONS"].reason
    assert "mrqc dashboard --auth" in left["DASHBOARD_HTTPAUTH"].reason
    from mrqcore.config import Config
    loaded = Config.load(config_file=str(tmp_path / "mrqc_config.py"), env={})
    assert (loaded.log_worker_format, loaded.poll_interval, loaded.log_format) == ("%(asctime)s %(message)s", 2.0,
                                                                                  "text")


def test_mrq_config_diff_names_the_new_file(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "mrq-config.py").write_text("GREENLETS = 2\n")
    import io
    out = io.StringIO()
    report = migrate([tmp_path], mode="diff", source="mrq", out=out, root=str(tmp_path))
    assert report.files_changed == ["app/mrqc_config.py"]
    assert "+++ b/app/mrqc_config.py\n" in out.getvalue() and not (tmp_path / "app" / "mrqc_config.py").exists()
