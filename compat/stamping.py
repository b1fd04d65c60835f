"""``StampingVisitor``: Celery's canvas stamping API (``from mrqc.canvas import StampingVisitor``).

A visitor says which headers (stamps) to add to each signature of a canvas;
``sig.stamp(visitor)`` walks the canvas and calls, as Celery 5.3+ does::

    class MonitoringIdStamper(StampingVisitor):
        def on_signature(self, sig, **headers) -> dict:
            return {"monitoring_id": uuid4().hex}

Each method returns a dict of stamps (``on_signature`` must be written; the
others default to no stamps). The stamps travel with each task, which reads
them on ``self.request`` (``self.request.stamps``, ``self.request.stamped_headers``
and each stamp as a request attribute).
"""
from __future__ import annotations

from typing import Any

__all__ = ["StampingVisitor"]


class StampingVisitor:
    """Base class of canvas stamping visitors (Celery's ``celery.canvas.StampingVisitor``)."""

    def on_signature(self, actual_sig: Any, **headers: Any) -> dict[str, Any]:
        """The stamps for one task signature (required)."""
        raise NotImplementedError(f"{type(self).__name__} must define on_signature(sig, **headers) -> dict")

    def on_group_start(self, group: Any, **headers: Any) -> dict[str, Any]:
        return {}

    def on_group_end(self, group: Any, **headers: Any) -> None:
        pass

    def on_chain_start(self, chain: Any, **headers: Any) -> dict[str, Any]:
        return {}

    def on_chain_end(self, chain: Any, **headers: Any) -> None:
        pass

    def on_chord_header_start(self, sig: Any, **header: Any) -> dict[str, Any]:
        """Stamps for a chord's header group (default: the ``on_group_start`` stamps of the header)."""
        return self.on_group_start(sig.tasks, **header) if hasattr(sig, "tasks") else {}

    def on_chord_header_end(self, sig: Any, **header: Any) -> None:
        if hasattr(sig, "tasks"):
            self.on_group_end(sig.tasks, **header)

    def on_chord_body(self, sig: Any, **header: Any) -> dict[str, Any]:
        return {}

    def on_callback(self, callback: Any, **header: Any) -> dict[str, Any]:
        return {}

    def on_errback(self, errback: Any, **header: Any) -> dict[str, Any]:
        return {}
