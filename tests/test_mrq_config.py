"""MRQ's configuration read as MRQ reads it: ``mrq-config.py``, ``MRQ_*`` variables, and every MRQ name.

Each class of name is checked: the same meaning under MRQ's name (``GREENLETS``,
``DEFAULT_JOB_TIMEOUT``, ``MAX_LATENCY``), accepted with no effect
(``REDIS_MAX_CONNECTIONS``), refused with the MRQ feature and what to do
(``MONGODB_JOBS``, ``DASHBOARD_HTTPAUTH``...), and a name MRQ never had. One
test runs a real worker from a directory holding only an ``mrq-config.py``.
"""
from __future__ import annotations

import subprocess
import sys

import pytest

from mrqcore import config_mrq
from mrqcore.config import Config
from mrqcore.exceptions import ConfigError
from tests.conftest import ROOT, worker_env

# MRQ's documented sample mrq-config.py (MRQ's docs/configuration.md), the settings mrqc reads
MRQ_SAMPLE_SAME = '''
REDIS = "redis://127.0.0.1:6379"
REDIS_PREFIX = "mrq"
NAME = None
DEFAULT_JOB_RESULT_TTL = 604800
DEFAULT_JOB_ABORT_TTL = 86400
DEFAULT_JOB_CANCEL_TTL = 86400
DEFAULT_JOB_TIMEOUT = 3600
DEFAULT_JOB_MAX_RETRIES = 3
DEFAULT_JOB_RETRY_DELAY = 3
QUEUES = ("high", "default")
MAX_JOBS = 0
MAX_MEMORY = 1
GREENLETS = 4
PROCESSES = 0
SCHEDULER = False
REPORT_INTERVAL = 10.5
MAX_LATENCY = 3
LOG_LEVEL = "INFO"
LOG_FORMAT = "%(asctime)s [%(levelname)s] %(message)s"
TASKS = {"tasks.MyTask": {"timeout": 60, "queue": "high", "max_retries": 1, "retry_delay": 600}}
SCHEDULER_TASKS = [{"path": "tasks.MyTask", "params": {}, "interval": 3600}]
'''
# ...and the ones it accepts with no effect
MRQ_SAMPLE_NO_EFFECT = '''
REDIS_MAX_CONNECTIONS = 1000
REDIS_TIMEOUT = 30
USE_LARGE_JOB_IDS = False
NO_IMPORT_PATCH = False
SCHEDULER_INTERVAL = 60
LOCAL_IP = ""
DEQUEUE_STRATEGY = "sequential"
SUBQUEUES_DELIMITER = "/"
'''


def load_mrq(tmp_path, text: str, env: dict[str, str] | None = None) -> Config:
    (tmp_path / "mrq-config.py").write_text(text)
    return Config.load(env=env or {}, cwd=str(tmp_path))


def test_mrq_config_file_is_found_and_its_names_read(tmp_path):
    config = load_mrq(tmp_path, MRQ_SAMPLE_SAME + MRQ_SAMPLE_NO_EFFECT)
    assert config.source == str(tmp_path / "mrq-config.py")
    assert (config.redis, config.redis_prefix, config.queues, config.greenlets) == \
        ("redis://127.0.0.1:6379", "mrq", ["high", "default"], 4)
    assert (config.result_ttl, config.abort_ttl, config.cancel_ttl, config.timeout, config.max_retries,
            config.retry_delay) == (604800, 86400, 86400, 3600, 3, 3)
    assert (config.poll_interval, config.heartbeat_interval, config.max_memory) == (3.0, 10.5, 1)
    assert config.log_worker_format == "%(asctime)s [%(levelname)s] %(message)s"  # MRQ's LOG_FORMAT
    assert config.log_format == "text"  # mrqc's own log_format is untouched
    assert config.task_settings("tasks.MyTask")["queue"] == "high"
    assert config.scheduler_tasks[0]["interval"] == 3600


def test_mrqc_config_file_wins_over_mrq_config(tmp_path):
    (tmp_path / "mrqc_config.py").write_text("GREENLETS = 9\n")
    config = load_mrq(tmp_path, "GREENLETS = 4\nMONGODB_JOBS = 'mongodb://x/y'\n")
    assert config.greenlets == 9 and config.source == str(tmp_path / "mrqc_config.py")


def test_mrq_environment_variables(tmp_path):
    config = Config.load(env={"MRQ_QUEUES": "high  low", "MRQ_GREENLETS": "3", "MRQ_MAX_LATENCY": "0.5",
                              "MRQ_UNRELATED_THING": "ignored, as MRQ ignores it"}, cwd=str(tmp_path))
    assert (config.queues, config.greenlets, config.poll_interval) == (["high", "low"], 3, 0.5)
    config = Config.load(env={"MRQ_GREENLETS": "3", "MRQC_GREENLETS": "5"}, cwd=str(tmp_path))
    assert config.greenlets == 5  # MRQC_* wins
    with pytest.raises(ConfigError, match=r"MRQ_\*: MRQ's MongoDB storage is not part of mrqc"):
        Config.load(env={"MRQ_MONGODB_JOBS": "mongodb://db/mrq"}, cwd=str(tmp_path))


def test_dequeue_strategies(tmp_path):
    assert load_mrq(tmp_path, "DEQUEUE_STRATEGY = 'burst'\n").burst is True
    with pytest.raises(ConfigError, match=r"'parallel' dequeue strategy is not part of mrqc.*order listed"):
        load_mrq(tmp_path, "DEQUEUE_STRATEGY = 'parallel'\n")
    with pytest.raises(ConfigError, match=r"subqueue delimiter is '/'"):
        load_mrq(tmp_path, "SUBQUEUES_DELIMITER = ':'\n")


@pytest.mark.parametrize("name", sorted(config_mrq.REFUSED))
def test_each_refused_mrq_name_names_the_feature_and_what_to_do(tmp_path, name):
    with pytest.raises(ConfigError) as info:
        load_mrq(tmp_path, f"{name.upper()} = 1\n")
    feature, action = config_mrq.REFUSED[name]
    message = str(info.value)
    assert info.value.setting == name.upper()
    assert f"{feature} is not part of mrqc: {action}" in message
    assert "unknown" not in message and "did you mean" not in message


@pytest.mark.parametrize("name,words", [
    ("MONGODB_JOBS", "MongoDB storage.*keeps jobs, logs and worker reports in Redis"),
    ("DASHBOARD_HTTPAUTH", "dashboard HTTP auth.*mrqc dashboard --auth user:password"),
    ("WORKER_CLASS", "custom worker class.*middleware"),
    ("ADMIN_PORT", "admin server"),
])
def test_refusals_read_well_from_mrqc_config_too(tmp_path, name, words):
    (tmp_path / "mrqc_config.py").write_text(f"{name} = 'x'\n")
    with pytest.raises(ConfigError, match=words):
        Config.load(env={}, cwd=str(tmp_path))


def test_every_refused_name_of_a_file_is_reported_at_once(tmp_path):
    text = MRQ_SAMPLE_SAME + "MONGODB_JOBS = 'mongodb://127.0.0.1:27017/mrq'\nMONGODB_LOGS = 1\n" \
        "DASHBOARD_HTTPAUTH = ''\nTRACE_IO = True\n"
    with pytest.raises(ConfigError) as info:
        load_mrq(tmp_path, text)
    message = str(info.value)
    assert "4 MRQ settings are not part of mrqc" in message
    for name in ("MONGODB_JOBS", "MONGODB_LOGS", "DASHBOARD_HTTPAUTH", "TRACE_IO"):
        assert f"\n  {name}: " in message


def test_a_name_mrq_never_had(tmp_path):
    with pytest.raises(ConfigError, match=r"unknown setting.*MRQ let its config file hold a project's own"):
        load_mrq(tmp_path, "MY_API_KEY = 'x'\n")
    with pytest.raises(ConfigError, match=r"did you mean 'greenlets'"):
        load_mrq(tmp_path, "GREENLET = 2\n")


def test_every_mrq_name_has_one_reading():
    classes = [set(config_mrq.SAME), set(config_mrq.NO_EFFECT), set(config_mrq.REFUSED)]
    assert sum(len(c) for c in classes) == len(set().union(*classes))  # no name in two classes
    for name in config_mrq.MRQ_NAMES:
        config_mrq.read_mrq_name(name, "sequential" if name == "dequeue_strategy" else "/", mrq_source=True)


def test_worker_runs_from_an_mrq_config_file(tmp_path, config_values, runtime):
    """A real worker started where only mrq-config.py is: it serves MRQ's QUEUES with MRQ's names."""
    from mrqcore.job import Job, queue_job
    (tmp_path / "mrq-config.py").write_text(
        f"REDIS = {config_values['redis']!r}\nREDIS_PREFIX = {config_values['redis_prefix']!r}\n"
        "QUEUES = ('mrqconf',)\nDEFAULT_JOB_TIMEOUT = 30\nREDIS_MAX_CONNECTIONS = 10\n")
    job_id = queue_job("tests.tasks.basic.Add", {"a": 2, "b": 3}, queue="mrqconf")
    env = worker_env({}, {"PYTHONPATH": ROOT})
    done = subprocess.run([sys.executable, "-m", "mrqcore.cli", "worker", "--burst"], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    assert Job(job_id).fetch().status == "success"
    (tmp_path / "mrq-config.py").write_text("MONGODB_JOBS = 'mongodb://db/mrq'\n")
    refused = subprocess.run([sys.executable, "-m", "mrqcore.cli", "worker", "--burst"], cwd=tmp_path, env=env,
                             capture_output=True, text=True, timeout=60)
    assert refused.returncode == 2 and "MRQ's MongoDB storage is not part of mrqc" in refused.stderr
