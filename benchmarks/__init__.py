"""Benchmarks: mrqc against its peers (Celery, Dramatiq, RQ, Huey) on one machine, one Redis, one run.

``python -m benchmarks`` runs every workload for every system and writes a markdown table and JSON to
``benchmarks/results/``; ``python -m benchmarks --quick`` is a smoke run. See ``benchmarks/README.md``.

This package is not part of mrqc and not part of its test suite: it asserts nothing about timings. Its
peers are installed only in ``benchmarks/.venv`` (``benchmarks/setup.sh``), never as mrqc dependencies.
The orchestrator (``__main__``, ``report``) uses the standard library only; everything that imports a
queue library runs in a subprocess (``benchmarks.runner``) under the benchmark interpreter.
"""
