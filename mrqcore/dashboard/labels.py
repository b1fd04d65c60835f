"""Other names for MRQ statuses, shown beside them (Celery states, when the Celery layer is installed).

mrqcore knows nothing of the layers above it, so names come through the
entry-point group ``mrqc.status_labels`` (pyproject.toml), the same mechanism
as the ``mrqc.cli`` commands: each entry is a mapping of status -> label, a
label being a string or an object with a ``state`` attribute (the Celery layer
points at ``mrqc.states.STATUS_READINGS``). The entry's name names the labels
(``celery``). An entry that fails to load is skipped with a warning.
"""
from __future__ import annotations

import functools
import importlib.metadata
import logging
from typing import Any, Mapping

#: entry-point group of status label tables
LABEL_GROUP = "mrqc.status_labels"

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=1)
def label_tables() -> dict[str, dict[str, str]]:
    """``{table name: {status: label}}`` from every installed ``mrqc.status_labels`` entry."""
    tables: dict[str, dict[str, str]] = {}
    for entry in importlib.metadata.entry_points(group=LABEL_GROUP):
        try:
            table: Mapping[Any, Any] = entry.load()
            tables[entry.name] = {str(getattr(status, "value", status)): str(getattr(label, "state", label))
                                  for status, label in table.items()}
        except Exception as exc:  # a broken plug-in must not take the dashboard down
            logger.warning("status labels %r (%s) not loaded: %s", entry.name, entry.value, exc)
    return tables


def labels_for(status: str) -> dict[str, str]:
    """``{table name: label}`` for one status (empty when no table names it)."""
    return {name: table[status] for name, table in label_tables().items() if status in table}
