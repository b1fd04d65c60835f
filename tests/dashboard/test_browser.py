"""The dashboard in headless Chromium (selenium + Debian's chromium-driver), on real data from a
real ``mrqc worker``: triage a failed job (overview, filter, traceback, requeue, success), pause
and resume a queue, and check that job data containing HTML and script renders as text.

Screenshots of the main views go to docs/images/ (``DASHBOARD_SCREENSHOTS=1``; otherwise to a
temporary directory, so a test run does not rewrite tracked files). Without chromium this
skips on a laptop and fails in CI (``require_service``); ``.ci/run`` installs it.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from typing import Any, Iterator

import pytest

from mrqcore.job import Job, queue_job
from mrqcore.queues import paused_queues
from tests.conftest import ROOT, require_service, wait_for
from tests.dashboard.conftest import EVIL, FLAKY_FLAG, HTML_TASK

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
ADD, FAIL = "tests.tasks.basic.Add", "tests.tasks.basic.Fail"
HOLD = "tests.dashboard.tasks.HoldUntilFile"
SHOTS = os.path.join(ROOT, "docs", "images")


@pytest.fixture
def browser(tmp_path: Any) -> Iterator[Any]:
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        require_service("selenium", "pip install selenium (it is in the test extra)")
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not os.path.exists(binary):
            require_service("chromium", f"{binary} is missing: apt-get install -y chromium chromium-driver")
    profile = tempfile.mkdtemp(prefix="mrqc-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1200,760", f"--user-data-dir={profile}"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.shots = SHOTS if os.environ.get("DASHBOARD_SCREENSHOTS") == "1" else str(tmp_path)
    try:
        yield driver
    finally:
        driver.quit()
        shutil.rmtree(profile, ignore_errors=True)


# Pages re-render what changed on every refresh, so an element found a moment ago may be gone:
# each helper finds and uses its element in one go, and retries when it went stale.

def _all(driver: Any, css: str) -> list[Any]:
    from selenium.webdriver.common.by import By
    return driver.find_elements(By.CSS_SELECTOR, css)


def _fresh(action: Any) -> Any:
    from selenium.common.exceptions import StaleElementReferenceException
    for _ in range(50):
        try:
            return action()
        except StaleElementReferenceException:
            continue
    return action()


def _text(driver: Any, css: str) -> str:
    return _fresh(lambda: (_all(driver, css) or [None])[0].text if _all(driver, css) else "")


def _attrs(driver: Any, css: str, name: str) -> list[str]:
    return _fresh(lambda: [e.get_attribute(name) for e in _all(driver, css)])


def _click(driver: Any, css: str) -> None:
    from selenium.webdriver.common.by import By
    wait_for(lambda: _all(driver, css), message=f"{css} to appear")
    _fresh(lambda: driver.find_element(By.CSS_SELECTOR, css).click())


def _confirm(driver: Any) -> None:
    alert = wait_for(lambda: _alert(driver), message="the confirmation dialog")
    alert.accept()


def _alert(driver: Any) -> Any:
    from selenium.common.exceptions import NoAlertPresentException
    try:
        alert = driver.switch_to.alert
        alert.text  # noqa: B018 - raises if there is none
        return alert
    except NoAlertPresentException:
        return None


def _shot(driver: Any, name: str) -> None:
    os.makedirs(driver.shots, exist_ok=True)
    driver.save_screenshot(os.path.join(driver.shots, f"dashboard-{name}.png"))


def _status(runtime: Any, job_id: str) -> str:
    return (runtime.store.get(job_id, ("status",)) or {}).get("status", "")


def test_triage_a_failed_job_then_pause_and_resume_a_queue(runtime, start_worker, start_dashboard, browser,
                                                           flag_file):
    worker = start_worker("web", "reports", "--greenlets", "4")
    done = [queue_job(ADD, {"a": i, "b": 2}, queue="web") for i in range(6)]
    done += [queue_job(ADD, {"a": i, "b": 3}, queue="reports") for i in range(3)]
    failed = [queue_job(FAIL, {"message": f"upstream timeout #{i}"}, queue="web") for i in range(2)]
    flaky = queue_job(FLAKY_FLAG, {"flag": flag_file, "message": "the config file is missing"}, queue="web")
    everything = done + failed + [flaky]
    try:
        wait_for(lambda: all(_status(runtime, j) in ("success", "failed") for j in everything), timeout=60,
                 message="the worker to run every job")
    except AssertionError:
        raise AssertionError(f"{[_status(runtime, j) for j in everything]}; worker output:\n{worker.output()}")
    board = start_dashboard()

    # The overview: counts refresh on their own.
    browser.get(board.url + "/")
    wait_for(lambda: _text(browser, "#count-failed .n") == "3" and _text(browser, "#count-success .n") == "9",
             message="the overview's counts")
    assert "FAILURE" in _text(browser, "#count-failed")  # Celery's state beside MRQ's status
    wait_for(lambda: _all(browser, '#queues-table tr[data-queue="web"]'), message="the queues table")
    _shot(browser, "overview")

    # Filter the failed jobs.
    from selenium.webdriver.support.ui import Select
    _click(browser, "#nav-jobs")
    wait_for(lambda: len(_all(browser, "#jobs-table tbody tr")) == len(everything), message="every job listed")
    _fresh(lambda: Select(browser.find_element("css selector", "#filter-status")).select_by_value("failed"))
    _click(browser, "#apply-filters")
    wait_for(lambda: sorted(_attrs(browser, "#jobs-table tbody tr", "data-job")) == sorted(failed + [flaky]),
             message="only the failed jobs")
    assert "status=failed" in browser.current_url
    _shot(browser, "jobs")

    # Open the traceback of one of them.
    _click(browser, f'#jobs-table tr[data-job="{flaky}"] a.job-link')
    wait_for(lambda: "ValueError: the config file is missing" in _text(browser, "#traceback"),
             message="the traceback")
    assert flaky in _text(browser, "#run-line") or "FailUntilFile" in _text(browser, "#run-line")
    assert "looking for" in _text(browser, "#log-lines")
    _shot(browser, "job")

    # Deploy the fix, requeue it, and watch it succeed without reloading.
    open(flag_file, "w").close()
    _click(browser, "#requeue")
    _confirm(browser)
    wait_for(lambda: _text(browser, "#field-status").startswith("success"), timeout=30,
             message="the requeued job to succeed on the page")
    assert _status(runtime, flaky) == "success"
    assert "requeue" in _text(browser, "#history")

    # Pause a queue, then resume it: a job queued meanwhile runs once it is resumed.
    _click(browser, "#nav-queues")
    wait_for(lambda: _all(browser, '#queues-table tr[data-queue="reports"] button.pause'), message="Pause button")
    _click(browser, '#queues-table tr[data-queue="reports"] button.pause')
    _confirm(browser)
    wait_for(lambda: _all(browser, '#queues-table tr[data-queue="reports"] button.resume'), message="paused state")
    assert paused_queues(runtime=runtime) == ["reports"]
    waiting = queue_job(ADD, {"a": 40, "b": 2}, queue="reports")
    wait_for(lambda: _text(browser, '#queues-table tr[data-queue="reports"] td.num') == "1",
             message="the waiting job on the paused queue")
    _shot(browser, "queues")
    _click(browser, '#queues-table tr[data-queue="reports"] button.resume')
    _confirm(browser)
    wait_for(lambda: _all(browser, '#queues-table tr[data-queue="reports"] button.pause'), message="resumed state")
    assert paused_queues(runtime=runtime) == []
    assert Job(waiting, runtime).wait(timeout=30) == 42

    # Workers: a running job and its progress appear without a reload, and leave when it ends.
    _click(browser, "#nav-workers")
    wait_for(lambda: "web, reports" in _text(browser, "#workers-table tbody"), message="the worker row")
    release = flag_file + ".release"
    holding = queue_job(HOLD, {"flag": release}, queue="web")
    wait_for(lambda: holding in _text(browser, "#workers-table tbody") and "25%" in _text(browser, "#workers-table tbody"),
             message="the running job with its progress")
    _shot(browser, "workers")
    open(release, "w").close()
    wait_for(lambda: holding not in _text(browser, "#workers-table tbody"), message="the job to leave the worker")
    _click(browser, "#nav-failures")
    wait_for(lambda: FAIL in _text(browser, "#failures-table"), message="the failures grouped")
    _shot(browser, "failures")


def test_html_in_job_data_renders_as_text(runtime, run_burst, start_dashboard, browser):
    ok = queue_job(HTML_TASK, {"html": EVIL}, queue="evil")
    bad = queue_job(HTML_TASK, {"html": EVIL, "fail": True}, queue="evil")
    run_burst("evil")
    board = start_dashboard()
    for job_id in (ok, bad):
        browser.get(f"{board.url}/jobs/{job_id}")
        wait_for(lambda: "<script>window.__pwned" in _text(browser, "#params"), message="the params as text")
        assert "<img src=x" in _text(browser, "#log-lines")
        assert "<b>bold</b>" in (_text(browser, "#result") if job_id == ok else _text(browser, "#traceback"))
        assert _all(browser, "main img, main b, main script") == []
        assert browser.execute_script("return window.__pwned === undefined") is True
    browser.get(f"{board.url}/jobs?queue=evil")
    wait_for(lambda: len(_all(browser, "#jobs-table tbody tr")) == 2, message="both jobs listed")
    browser.get(f"{board.url}/failures")
    wait_for(lambda: HTML_TASK in _text(browser, "#failures-table"), message="the failure group")
    assert _all(browser, "main img, main b, main script") == []
    assert browser.execute_script("return window.__pwned === undefined") is True
