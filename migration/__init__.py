"""mrqc.migration: codemods that convert a Celery or MRQ codebase to mrqc.

Planned here (not built yet): ``mrqc migrate`` with libcst codemods that
rewrite imports and APIs, report exactly what they could not convert, and send
failures to Sentry. Until then, docs/migrating-from-celery.md describes the
manual steps (for most projects: change the ``celery`` imports to ``mrqc``).
"""
