"""The tool's tables agree with mrqc itself (they are read from compat, or checked against it)."""
from __future__ import annotations

import importlib

import pytest

from mrqc.migration import targets
from mrqc.migration.targets import Refusal, celery_name, setting_problem, task_option_problem


@pytest.mark.parametrize("module", sorted(targets.MODULES))
def test_every_mapped_module_imports(module: str) -> None:
    target = targets.celery_module(module)
    assert isinstance(target, str), target
    importlib.import_module(target)


def test_celery_top_level_names_map_or_are_refused() -> None:
    import celery  # real Celery, in the test extra
    import mrqc
    for name in celery.__all__:
        found = celery_name("celery", name)
        if isinstance(found, Refusal):
            assert not hasattr(mrqc, name) or name in targets._ATTRIBUTE_MODULES
            assert found.action
        else:
            assert hasattr(importlib.import_module(found), name), name


def test_settings_verdicts_are_compats() -> None:
    from mrqc.settings import NOOP, SUPPORTED, UNSUPPORTED
    for name in UNSUPPORTED:
        if not name.endswith("_"):
            problem = setting_problem(name, "'x'")
            assert problem is not None and UNSUPPORTED[name] in problem.reason
    for name in NOOP:
        assert setting_problem(name, "None") is None, name
    assert setting_problem("task_serializer", "'json'") is None and "task_serializer" in SUPPORTED
    assert setting_problem("task_alwyas_eager", "True").reason.startswith("unknown Celery setting")


def test_task_option_verdicts_are_compats() -> None:
    from mrqc.task import TASK_OPTIONS, restricted_task_options
    for option, (accepted, why) in restricted_task_options().items():
        assert task_option_problem(option, repr(accepted[0])) is None
        assert why in task_option_problem(option, "'something-else'").reason
    for option in TASK_OPTIONS - set(restricted_task_options()):
        assert task_option_problem(option, "1") is None


def test_unsupported_task_methods_are_probed_from_compat() -> None:
    methods = targets.unsupported_task_methods()
    # compat does Task.replace and add_to_chord (the probe calls them); add_trail does not exist
    assert "replace" not in methods and "add_to_chord" not in methods
    assert methods["add_trail"] == "Task.add_trail() does not exist in mrqc"
    assert {"revoke", "inspect", "broadcast"} <= targets.control_methods()  # docs/remote-control.md
    assert "pool_restart" not in targets.control_methods()
