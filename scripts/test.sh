#!/usr/bin/env bash
# Sets up .venv with mrqc and its test extras, then runs the whole test suite.
# Uses Redis at 127.0.0.1:6379 when it answers (MRQC_TEST_REDIS_URL to change),
# else an embedded Redis; with CI=true a missing service fails instead.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[test]'
# Two test processes (pytest-xdist): most tests wait on real worker processes and servers, so two
# overlap well on two cores. MRQC_TEST_PROCESSES=0 runs them in this one process.
exec .venv/bin/python -m pytest -q -n "${MRQC_TEST_PROCESSES:-2}" "$@"
