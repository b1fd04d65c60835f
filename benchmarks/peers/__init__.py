"""One module per queue system: its task definitions (``*_app``/``*_tasks``) and its client side (``*_peer``).

``load(system)`` imports only the peer asked for, so a missing library affects its own rows only.
"""
from __future__ import annotations

import importlib

PEER_CLASSES = {
    "mrqc": "benchmarks.peers.mrqc_peer:MrqcPeer",
    "celery": "benchmarks.peers.celery_peer:CeleryPeer",
    "dramatiq": "benchmarks.peers.dramatiq_peer:DramatiqPeer",
    "rq": "benchmarks.peers.rq_peer:RqPeer",
    "huey": "benchmarks.peers.huey_peer:HueyPeer",
}


def load(system: str):
    """Instantiate the peer class of ``system`` (raises ImportError if its library is missing)."""
    module_name, _, class_name = PEER_CLASSES[system].partition(":")
    return getattr(importlib.import_module(module_name), class_name)()
