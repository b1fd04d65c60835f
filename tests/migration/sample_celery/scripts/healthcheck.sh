#!/bin/sh
# Container health check: exit 0 when a newsroom worker answers the ping (celery exits 69 when none does).
cd "$(dirname "$0")/.."
exec celery -A newsroom inspect ping --timeout 5
