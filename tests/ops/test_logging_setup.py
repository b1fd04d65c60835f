"""``mrqcore.logs.setup_worker_logging`` in-process: hijacking the root logger or not, bad settings."""
from __future__ import annotations

import io
import logging

import pytest

from mrqcore.config import Config
from mrqcore.exceptions import ConfigError
from mrqcore.logs import add_logging_hook, remove_logging_hook, setup_worker_logging


@pytest.fixture
def root_state():
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    yield root
    root.handlers[:] = saved[0]
    root.setLevel(saved[1])


@pytest.mark.parametrize("hijack", [True, False])
def test_hijack_root_logger(root_state, hijack):
    existing = logging.StreamHandler(io.StringIO())
    root_state.addHandler(existing)
    stream = io.StringIO()
    handler = setup_worker_logging(Config({"log_hijack_root_logger": hijack, "log_level": "WARNING"}), stream)
    assert handler in root_state.handlers
    assert (existing in root_state.handlers) is (not hijack)
    logging.getLogger("mrqc.job.sample").info("filtered out")
    logging.getLogger("mrqc.job.sample").warning("printed")
    assert "printed" in stream.getvalue() and "filtered out" not in stream.getvalue()


def test_worker_format_setting(root_state):
    stream = io.StringIO()
    setup_worker_logging(Config({"log_worker_format": "W|%(levelname)s|%(task_name)s|%(message)s"}), stream)
    logging.getLogger("mrqc.worker").info("hello")
    assert stream.getvalue() == "W|INFO|-|hello\n"


@pytest.mark.parametrize("settings, name", [({"log_level": "LOUD"}, "log_level"), ({"log_format": "xml"}, "log_format")])
def test_bad_settings_name_the_setting(root_state, settings, name):
    with pytest.raises(ConfigError, match=name):
        setup_worker_logging(Config(settings))


def test_a_hook_may_take_over(root_state):
    seen = []

    class Hook:
        def setup(self, level, log_format):
            seen.append(("setup", level, log_format))
            return True

        def after_setup(self, root, task, level, log_format):
            seen.append(("after", root is logging.getLogger(), task.name))

    hook = Hook()
    add_logging_hook(hook)
    try:
        before = list(root_state.handlers)
        assert setup_worker_logging(Config({"log_format": "json"})) is None
        assert root_state.handlers == before
    finally:
        remove_logging_hook(hook)
    assert seen == [("setup", logging.INFO, "json"), ("after", True, "mrqc.job")]
