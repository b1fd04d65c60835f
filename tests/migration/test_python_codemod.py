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


def test_mrq_config_diff_names_the_new_file(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "mrq-config.py").write_text("GREENLETS = 2\n")
    import io
    out = io.StringIO()
    report = migrate([tmp_path], mode="diff", source="mrq", out=out, root=str(tmp_path))
    assert report.files_changed == ["app/mrqc_config.py"]
    assert "+++ b/app/mrqc_config.py\n" in out.getvalue() and not (tmp_path / "app" / "mrqc_config.py").exists()
