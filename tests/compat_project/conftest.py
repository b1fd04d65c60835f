"""The sample project in ``project/`` has its own test suite; the outer run must not collect it.

``test_acceptance.py`` copies the project to a temporary folder and runs its
suite in a separate pytest process, against real Celery or against mrqc.
"""
collect_ignore = ["project", "fixture_suite"]
