#!/bin/sh
# Start a newsroom worker; CONCURRENCY defaults to 4.
set -e
cd "$(dirname "$0")/.."
exec celery -A newsroom worker -l info -c "${CONCURRENCY:-4}" -Q default,media,digest
