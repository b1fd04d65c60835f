#!/usr/bin/env bash
# Celery's integration suite (t/integration: tasks.py, test_tasks.py, test_canvas.py, from Celery's sdist) on real
# Celery and on mrqc in the same run; prints the table and the pass rates. Arguments go to
# `python -m tests.conformance` (--celery-only, --mrqc-only, -k EXPR, --report FILE, --min-rate 0.9, node ids).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet -e '.[test]'
exec .venv/bin/python -m tests.conformance "$@"
