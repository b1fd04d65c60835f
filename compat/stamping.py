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

``stamp(sig, visitor, append_stamps=False, **headers)`` is ``Signature.stamp``:
a task signature gets ``on_signature``'s stamps as options (one option per
stamp, their names in ``options["stamped_headers"]``); a group visits
``on_group_start``, stamps each task, then ``on_group_end``; a chain the same
with ``on_chain_start``/``on_chain_end``; a chord its header (as a group,
``on_chord_header_start``) and its body (``on_chord_body``). Callbacks and
errbacks (``link``/``link_error``) are stamped too (``on_callback``,
``on_errback``). Stamps given as keyword arguments apply to every signature.
With ``append_stamps=True`` a stamp already present becomes a list of both
values. When the task is sent, the stamps go in its ``stamps`` header (see
``mrqc.calling``).
"""
from __future__ import annotations

from abc import ABCMeta, abstractmethod
from typing import Any

__all__ = ["StampingVisitor", "stamp", "stamp_links"]


class StampingVisitor(metaclass=ABCMeta):
    """Base class of canvas stamping visitors (Celery's ``celery.canvas.StampingVisitor``).

    As in Celery, ``on_signature`` is abstract: a visitor class without it cannot be instantiated
    (``TypeError`` naming the method)."""

    @abstractmethod
    def on_signature(self, actual_sig: Any, **headers: Any) -> dict[str, Any]:
        """The stamps for one task signature (required)."""

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


def stamp(sig: Any, visitor: StampingVisitor | None = None, append_stamps: bool = False,
          **headers: Any) -> Any:
    """Stamp ``sig`` and everything inside it (see the module docstring); returns ``sig``."""
    from .canvas import chain, group
    from .canvas_chord import chord
    headers = {k: v for k, v in headers.items() if k != "stamped_headers"}
    if isinstance(sig, chord):
        found = visitor.on_chord_header_start(sig, **headers) or {} if visitor is not None else {}
        inner = {**headers, **found}
        for task in sig.tasks:
            stamp(task, visitor, append_stamps, **inner)
        if visitor is not None:
            visitor.on_chord_header_end(sig, **inner)
            body_stamps = visitor.on_chord_body(sig, **headers) or {}
        else:
            body_stamps = {}
        stamp(sig.body, visitor, append_stamps, **{**headers, **body_stamps})
        stamp_links(sig, visitor, append_stamps, **headers)
        return sig
    if isinstance(sig, (group, chain)):
        is_group = isinstance(sig, group)
        if visitor is not None:
            start = visitor.on_group_start if is_group else visitor.on_chain_start
            found = start(sig, **headers) or {}
        else:
            found = {}
        inner = {**headers, **found}
        for task in sig.tasks:
            stamp(task, visitor, append_stamps, **inner)
        if visitor is not None:
            (visitor.on_group_end if is_group else visitor.on_chain_end)(sig, **inner)
        stamp_links(sig, visitor, append_stamps, **headers)
        return sig
    found = (visitor.on_signature(sig, **headers) or {}) if visitor is not None else {}
    _apply(sig, {**headers, **found}, append_stamps)
    stamp_links(sig, visitor, append_stamps, **headers)
    return sig


def stamp_links(sig: Any, visitor: StampingVisitor | None = None, append_stamps: bool = False,
                **headers: Any) -> None:
    """Stamp ``sig``'s callbacks (``on_callback``) and errbacks (``on_errback``)."""
    from .canvas_signature import maybe_signature
    for key, hook in (("link", "on_callback"), ("link_error", "on_errback")):
        links = sig.options.get(key) or []
        for index, link in enumerate(links if isinstance(links, list) else [links]):
            link = maybe_signature(link, app=getattr(sig, "_app", None))
            if link is None:
                continue
            found = (getattr(visitor, hook)(link, **headers) or {}) if visitor is not None else {}
            stamp(link, visitor, append_stamps, **{**headers, **found})
            if isinstance(links, list):
                links[index] = link
            else:
                sig.options[key] = link


def _apply(sig: Any, stamps: dict[str, Any], append: bool) -> None:
    stamped = list(sig.options.get("stamped_headers") or [])
    for key, value in stamps.items():
        if append and key in stamped and key in sig.options:
            old = sig.options[key]
            old = old if isinstance(old, list) else [old]
            value = old + [v for v in (value if isinstance(value, list) else [value]) if v not in old]
        sig.options[key] = value
        if key not in stamped:
            stamped.append(key)
    sig.options["stamped_headers"] = stamped
