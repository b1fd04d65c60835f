#!/usr/bin/env bash
# Sets up .venv with mrqc, then runs the main job: real jobs through a real worker.
# No Redis needed: without MRQC_REDIS it uses the embedded Redis in ./.mrqc.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
exec .venv/bin/python -m examples.demo "${1:-1000}"
