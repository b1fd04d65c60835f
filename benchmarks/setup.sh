#!/usr/bin/env bash
# Creates benchmarks/.venv: mrqc (editable) plus the peer queues it is measured against.
# The peers are benchmark-only dependencies; they are never dependencies of mrqc itself.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(dirname "$here")"
venv="$here/.venv"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
    "$python" -m venv "$venv"
fi
pip=("$venv/bin/python" -m pip install --quiet)

"${pip[@]}" --upgrade pip
# Peers. dramatiq-gevent is not a PyPI package: dramatiq ships the `dramatiq-gevent`
# console script itself, which only needs gevent installed beside it.
"${pip[@]}" \
    'celery[redis]==5.7.*' \
    'dramatiq[redis]==2.*' \
    'rq==2.*' \
    'huey==3.*' \
    gevent psutil hiredis redis

if [ -f "$repo/pyproject.toml" ]; then
    "${pip[@]}" -e "$repo"
else
    echo "setup.sh: $repo/pyproject.toml not found; mrqc not installed (peers only)" >&2
fi

"$venv/bin/python" - <<'PY'
import importlib.metadata as md
for name in ("mrqc", "celery", "dramatiq", "rq", "huey", "gevent", "redis", "hiredis", "psutil"):
    try:
        print(f"{name:10} {md.version(name)}")
    except md.PackageNotFoundError:
        print(f"{name:10} (not installed)")
PY
