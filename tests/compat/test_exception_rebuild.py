"""Issue 9 item 9: ``AsyncResult.get()`` never imports the module named in a stored exception.

The module name comes from Redis; importing it runs its code in the client
(``this`` prints, ``unittest.__main__`` raises SystemExit). Like Celery since
CVE-2021-23727 the class is looked up in ``sys.modules`` only, else rebuilt as
an exception class keeping the type name and message.
"""
from __future__ import annotations

import json
import sys
import time

import pytest

from mrqcore.job import Job, new_job_id, queue_job

MODULES = ["this", "unittest.__main__"]


@pytest.fixture(autouse=True)
def _not_loaded():
    for name in MODULES:
        sys.modules.pop(name, None)
    yield
    for name in MODULES:
        assert name not in sys.modules, f"{name} was imported by the client"


@pytest.mark.parametrize("module", MODULES)
def test_stored_exc_info_naming_a_module_is_not_imported(app, runtime, module):
    job_id = new_job_id()
    runtime.store.update(job_id, {
        "path": "tests.tasks.reliability.RaiseForeign", "queue": "default", "status": "failed",
        "datedone": repr(time.time()), "exceptiontype": f"{module}.Poison",
        "traceback": f"Traceback (most recent call last):\n{module}.Poison: planted",
        "exc_info": json.dumps({"exc_module": module, "exc_type": "Poison", "exc_message": ["planted"],
                                "exc_text": "planted"}),
    })
    with pytest.raises(Exception) as caught:
        app.AsyncResult(job_id).get(timeout=5)
    assert type(caught.value).__name__ == "Poison"
    assert type(caught.value).__module__ == module
    assert caught.value.args == ("planted",)


@pytest.mark.parametrize("module", MODULES)
def test_task_raising_a_foreign_exception_type_is_rebuilt_not_imported(app, runtime, run_burst, module):
    job_id = queue_job("tests.tasks.reliability.RaiseForeign",
                       {"module": module, "name": "Poison", "message": "raised by the task"})
    run_burst()
    assert Job(job_id).fetch().exceptiontype == f"{module}.Poison"
    result = app.AsyncResult(job_id)
    with pytest.raises(Exception) as caught:
        result.get(timeout=5)
    assert type(caught.value).__name__ == "Poison"
    assert "raised by the task" in str(caught.value)
    assert result.state == "FAILURE"


def test_a_loaded_exception_class_is_still_rebuilt_as_itself(app, runtime):
    job_id = new_job_id()
    runtime.store.update(job_id, {
        "path": "x.Y", "queue": "default", "status": "failed", "datedone": repr(time.time()),
        "exceptiontype": "json.decoder.JSONDecodeError", "traceback": "",
        "exc_info": json.dumps({"exc_module": "json.decoder", "exc_type": "JSONDecodeError",
                                "exc_message": ["bad", "{", 0]}),
    })
    with pytest.raises(json.JSONDecodeError):
        app.AsyncResult(job_id).get(timeout=5)
