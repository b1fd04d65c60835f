"""Configuration: defaults < config file < MRQC_* environment < flags, and clear errors."""
from __future__ import annotations

import pytest

from mrqcore.config import SETTINGS, Config
from mrqcore.exceptions import ConfigError


def test_documented_defaults():
    config = Config.load(env={}, cwd="/nonexistent")
    assert config.timeout == 3600
    assert config.result_ttl == 7 * 24 * 3600
    assert config.abort_ttl == config.cancel_ttl == 24 * 3600
    assert config.default_ttl == 28 * 24 * 3600
    assert config.max_retries == 3
    assert config.retry_delay == 3
    assert config.redis is None  # embedded Redis
    assert config.default_queue == "default"


def test_precedence_file_env_flags(tmp_path):
    conf = tmp_path / "mrqc_config.py"
    conf.write_text("GREENLETS = 7\nMAX_RETRIES = 9\nRESULT_TTL = 100\nQUEUES = ['a', 'b']\n")
    config = Config.load(env={"MRQC_MAX_RETRIES": "5", "MRQC_RESULT_TTL": "200"},
                         overrides={"result_ttl": 300, "greenlets": None}, cwd=str(tmp_path))
    assert config.greenlets == 7          # file
    assert config.max_retries == 5        # env beats file
    assert config.result_ttl == 300       # flag beats env
    assert config.queues == ["a", "b"]
    assert config.source == str(conf)


def test_mrq_aliases_are_accepted(tmp_path):
    conf = tmp_path / "conf.py"
    conf.write_text("DEFAULT_JOB_TIMEOUT = 12\nDEFAULT_JOB_RESULT_TTL = 34\nDEFAULT_JOB_MAX_RETRIES = 1\n")
    config = Config.load(config_file=str(conf), env={})
    assert (config.timeout, config.result_ttl, config.max_retries) == (12, 34, 1)


@pytest.mark.parametrize("source", ["env", "override", "file"])
def test_invalid_value_names_the_setting(tmp_path, source):
    with pytest.raises(ConfigError) as info:
        if source == "env":
            Config.load(env={"MRQC_GREENLETS": "many"}, cwd=str(tmp_path))
        elif source == "override":
            Config.load(env={}, overrides={"greenlets": 0}, cwd=str(tmp_path))
        else:
            (tmp_path / "mrqc_config.py").write_text("GREENLETS = 'x'\n")
            Config.load(env={}, cwd=str(tmp_path))
    assert "greenlets" in str(info.value)
    assert info.value.setting == "greenlets"


def test_unknown_setting_suggests_the_right_name(tmp_path):
    (tmp_path / "mrqc_config.py").write_text("GREENLET = 4\n")
    with pytest.raises(ConfigError, match="did you mean 'greenlets'"):
        Config.load(env={}, cwd=str(tmp_path))
    with pytest.raises(ConfigError, match="environment variable MRQC_RESULTTTL.*did you mean 'result_ttl'"):
        Config.load(env={"MRQC_RESULTTTL": "3"}, cwd=str(tmp_path / "elsewhere"))


def test_broken_config_file_is_named(tmp_path):
    (tmp_path / "mrqc_config.py").write_text("1/0\n")
    with pytest.raises(ConfigError, match="mrqc_config.py.*ZeroDivisionError"):
        Config.load(env={}, cwd=str(tmp_path))


def test_task_settings_class_then_config(tmp_path):
    from mrqcore.task import Task

    class Slow(Task):
        timeout = 5
        queue = "slow"

        def run(self, params):
            return None

    config = Config({"tasks": {"x.Slow": {"timeout": 50, "max_retries": 0}}})
    settings = config.task_settings("x.Slow", Slow)
    assert settings["queue"] == "slow"
    assert settings["timeout"] == 50       # config wins over the class
    assert settings["max_retries"] == 0
    assert settings["result_ttl"] == SETTINGS["result_ttl"].default


def test_bad_task_settings_named():
    with pytest.raises(ConfigError, match="tasks.*'timout'.*did you mean 'timeout'"):
        Config({"tasks": {"x.Y": {"timout": 3}}})
