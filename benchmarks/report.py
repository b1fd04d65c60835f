"""Turns the runners' rows into ratios, target verdicts and a markdown report. Standard library only.

Ratios always read "how many times better mrqc is": for rates mrqc / best peer, for latency best
peer / mrqc. mrqc's side is its best configuration for that workload, named in the output. A verdict
is PASS or MISS against the target, ERROR if mrqc's row failed, n/a if there is nothing to compare.
"""
from __future__ import annotations

from typing import Any, Callable, Iterable

from benchmarks import settings

MRQC = "mrqc"

WORKLOAD_TITLES = {
    "enqueue": "Enqueue: {enqueue:,} no-op jobs from one client (no worker running)",
    "drain": "Drain: {drain:,} queued no-op jobs, worker start to last result stored",
    "latency": "Latency: {latency:,} sequential round trips (enqueue, wait for result), warm idle worker",
    "io": ("I/O-bound: {io:,} jobs each sleeping {sleep_ms:.0f} ms (gevent-friendly), warm worker, "
           "first enqueue to last result"),
    "raw": "Raw queue: {raw:,} items pushed to a raw queue, turned into jobs by a burst worker (mrqc only)",
    "memory": ("Memory: worker RSS (whole process tree) after a {memory_warmup:,}-job warm-up "
               "and after {memory:,} more jobs"),
}


def build(meta: dict, systems: dict[str, dict]) -> dict:
    """The report document: meta, per-system info, rows per workload, comparisons and targets."""
    rows: dict[str, list[dict]] = {w: [] for w in settings.WORKLOADS}
    info = {}
    for system, doc in systems.items():
        info[system] = {k: doc.get(k) for k in ("version", "single_api", "bulk_api", "configs", "error",
                                                 "config_errors")}
        for workload, workload_rows in doc.get("rows", {}).items():
            rows.setdefault(workload, []).extend(workload_rows)
    comparisons = _comparisons(rows)
    return {"meta": meta, "systems": info, "workloads": rows, "comparisons": comparisons,
            "targets": [c for c in comparisons if c.get("target")]}


def _comparisons(rows: dict[str, list[dict]]) -> list[dict]:
    def rate_of(mode: str) -> Callable[[dict], bool]:
        return lambda r: r.get("mode") == mode

    return [
        _compare("enqueue (single calls)", rows["enqueue"], "rate", "jobs/s", higher=True, where=rate_of("single")),
        _compare("enqueue (bulk API)", rows["enqueue"], "rate", "jobs/s", higher=True, where=rate_of("bulk"),
                 target=settings.TARGET_BULK_RATIO, target_text=f">= {settings.TARGET_BULK_RATIO:g}x best peer's bulk"),
        _compare("drain", rows["drain"], "rate", "jobs/s", higher=True,
                 target=settings.TARGET_DRAIN_RATIO, target_text=f">= {settings.TARGET_DRAIN_RATIO:g}x best peer"),
        _compare("latency p50", rows["latency"], "p50_ms", "ms", higher=False,
                 target=settings.TARGET_LATENCY_RATIO, target_text="p50 <= best peer's"),
        _compare("latency p99", rows["latency"], "p99_ms", "ms", higher=False),
        _compare("I/O-bound throughput", rows["io"], "rate", "jobs/s", higher=True),
        _own_target("I/O-bound vs ideal", rows["io"], "efficiency", higher=True,
                    target=settings.TARGET_IO_EFFICIENCY,
                    target_text=f">= {settings.TARGET_IO_EFFICIENCY:.0%} of ideal for its concurrency"),
        _own_target("memory growth", rows["memory"], "growth", higher=False,
                    target=settings.TARGET_MEMORY_GROWTH,
                    target_text=f"< {settings.TARGET_MEMORY_GROWTH:.0%} RSS growth"),
    ]


def _compare(name: str, rows: list[dict], field: str, unit: str, *, higher: bool,
             where: Callable[[dict], bool] = lambda r: True, target: float | None = None,
             target_text: str = "") -> dict:
    """mrqc's best row against the best peer row, as a 'times better' ratio."""
    rows = [r for r in rows if where(r)]
    out: dict[str, Any] = {"name": name, "field": field, "unit": unit, "target": target,
                           "target_text": target_text}
    mine = _best([r for r in rows if r["system"] == MRQC], field, higher)
    peer = _best([r for r in rows if r["system"] != MRQC], field, higher)
    out["mrqc"] = _ref(mine, field)
    out["best_peer"] = _ref(peer, field)
    if mine is None:
        failed = [r for r in rows if r["system"] == MRQC and r.get("error")]
        out["verdict"] = "ERROR" if failed else "n/a"
        out["ratio"] = None
        return out
    if peer is None:
        out.update(ratio=None, verdict="n/a")
        return out
    ratio = mine[field] / peer[field] if higher else peer[field] / mine[field]
    out["ratio"] = ratio
    out["verdict"] = "" if target is None else ("PASS" if ratio >= target else "MISS")
    return out


def _own_target(name: str, rows: list[dict], field: str, *, higher: bool, target: float,
                target_text: str) -> dict:
    """A target on mrqc's own measurement (not a ratio to peers)."""
    mine = _best([r for r in rows if r["system"] == MRQC], field, higher)
    out: dict[str, Any] = {"name": name, "field": field, "target": target, "target_text": target_text,
                           "mrqc": _ref(mine, field), "best_peer": None, "ratio": None}
    if mine is None:
        failed = [r for r in rows if r["system"] == MRQC and r.get("error")]
        out["verdict"] = "ERROR" if failed else "n/a"
        return out
    value = mine[field]
    out["value"] = value
    out["verdict"] = "PASS" if (value >= target if higher else value < target) else "MISS"
    return out


def _best(rows: Iterable[dict], field: str, higher: bool) -> dict | None:
    measured = [r for r in rows if isinstance(r.get(field), (int, float))]
    if not measured:
        return None
    return (max if higher else min)(measured, key=lambda r: r[field])


def _ref(row: dict | None, field: str) -> dict | None:
    if row is None:
        return None
    return {"system": row["system"], "config": row["config"], "value": row[field]}


# -- markdown -------------------------------------------------------------------------------------

def markdown(report: dict) -> str:
    meta = report["meta"]
    sizes = dict(meta["scale"], sleep_ms=settings.IO_SLEEP * 1000)
    lines = [f"# mrqc benchmarks: {meta['scale']['name']} run, {meta['started']}", ""]
    lines += _meta_lines(meta, report["systems"])
    lines += ["", "## Targets", "", "| workload | target | mrqc | best peer | measured | verdict |",
              "|---|---|---|---|---|---|"]
    for c in report["targets"]:
        lines.append(f"| {c['name']} | {c['target_text']} | {_ref_text(c['mrqc'], c)} | "
                     f"{_ref_text(c['best_peer'], c)} | {_measured_text(c)} | {c['verdict']} |")
    tables = {"enqueue": _enqueue_table, "drain": _drain_table, "latency": _latency_table,
              "io": _io_table, "raw": _raw_table, "memory": _memory_table}
    for workload in settings.WORKLOADS:
        rows = report["workloads"].get(workload) or []
        if not rows:
            continue
        lines += ["", f"## {WORKLOAD_TITLES[workload].format(**sizes)}", ""]
        lines += tables[workload](rows)
        lines += _comparison_lines(report["comparisons"], workload)
    lines += ["", "## Configurations", ""] + _config_lines(report["systems"])
    errors = [r for rows in report["workloads"].values() for r in rows if r.get("error")]
    errors += [{"system": s, "config": "-", "error": i["error"]}
               for s, i in report["systems"].items() if i.get("error")]
    errors += [{"system": s, **e} for s, i in report["systems"].items() for e in i.get("config_errors") or []]
    if errors:
        lines += ["", "## Errors", ""]
        for r in errors:
            first = " / ".join(r["error"].strip().splitlines()[:3])
            lines.append(f"- {r['system']} {r.get('config', '')} {r.get('mode', '')}: `{_md(first)[:400]}`")
    return "\n".join(lines) + "\n"


def _meta_lines(meta: dict, systems: dict) -> list[str]:
    versions = ", ".join(f"{s} {i.get('version') or '?'}" for s, i in systems.items())
    lines = [
        f"- Machine: {meta.get('cpus')} CPUs, {meta.get('platform')}; load average at start {meta.get('loadavg')}",
        f"- Python {meta.get('python_version')} (`{meta.get('python')}`); Redis {meta.get('redis_version', '?')} at "
        f"`{meta.get('redis_url')}` (a server shared with other work: numbers are noisy)",
        f"- Versions: {versions}",
        "- Every system ran in its own subprocesses, one after another, against the same Redis; "
        "ratios are 'times better than the best peer' (latency: best peer / mrqc).",
    ]
    if meta.get("note"):
        lines.append(f"- Note: {meta['note']}")
    return lines


def _enqueue_table(rows: list[dict]) -> list[str]:
    best = {m: _best([r for r in rows if r["system"] == MRQC and r.get("mode") == m], "rate", True)
            for m in ("single", "bulk")}
    out = ["| system | mode | API | jobs/s | seconds | mrqc ÷ this |", "|---|---|---|---:|---:|---:|"]
    for r in rows:
        out.append(_row(r["system"], r["mode"], f"`{_md(r.get('api') or 'none')}`", _value(r, "rate", "{:,.0f}"),
                        _num(r.get("seconds"), "{:.2f}"), _times(best[r["mode"]], r, "rate", True)))
    return out


def _drain_table(rows: list[dict]) -> list[str]:
    best = _best([r for r in rows if r["system"] == MRQC], "rate", True)
    out = ["| system | config | jobs/s | seconds | mrqc ÷ this |", "|---|---|---:|---:|---:|"]
    for r in rows:
        out.append(_row(r["system"], r["config"], _value(r, "rate", "{:,.0f}"), _num(r.get("seconds"), "{:.2f}"),
                        _times(best, r, "rate", True)))
    return out


def _latency_table(rows: list[dict]) -> list[str]:
    best = _best([r for r in rows if r["system"] == MRQC], "p50_ms", False)
    out = ["| system | config | p50 ms | p99 ms | mean ms | max ms | this p50 ÷ mrqc p50 |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(_row(r["system"], r["config"], _value(r, "p50_ms", "{:.2f}"), _num(r.get("p99_ms"), "{:.2f}"),
                        _num(r.get("mean_ms"), "{:.2f}"), _num(r.get("max_ms"), "{:.2f}"),
                        _times(best, r, "p50_ms", False)))
    return out


def _io_table(rows: list[dict]) -> list[str]:
    best = _best([r for r in rows if r["system"] == MRQC], "rate", True)
    out = ["| system | config | concurrency | seconds | ideal s | % of ideal | jobs/s | mrqc ÷ this |",
           "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(_row(r["system"], r["config"], r.get("concurrency", ""), _value(r, "seconds", "{:.2f}"),
                        _num(r.get("ideal_seconds"), "{:.2f}"), _num(r.get("efficiency"), "{:.0%}"),
                        _num(r.get("rate"), "{:,.0f}"), _times(best, r, "rate", True)))
    return out


def _raw_table(rows: list[dict]) -> list[str]:
    out = ["| system | config | jobs/s | seconds | push items/s |", "|---|---|---:|---:|---:|"]
    for r in rows:
        out.append(_row(r["system"], r["config"], _value(r, "rate", "{:,.0f}"), _num(r.get("seconds"), "{:.2f}"),
                        _num(r.get("push_rate"), "{:,.0f}")))
    return out


def _memory_table(rows: list[dict]) -> list[str]:
    out = ["| system | config | jobs | RSS before MB | RSS after MB | growth | jobs/s |",
           "|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        out.append(_row(r["system"], r["config"], f"{r.get('n', 0):,}", _value(r, "rss_before_mb", "{:.1f}"),
                        _num(r.get("rss_after_mb"), "{:.1f}"), _num(r.get("growth"), "{:+.1%}"),
                        _num(r.get("rate"), "{:,.0f}")))
    return out


def _comparison_lines(comparisons: list[dict], workload: str) -> list[str]:
    prefix = {"enqueue": "enqueue", "drain": "drain", "latency": "latency", "io": "I/O"}.get(workload)
    out = []
    for c in comparisons:
        if prefix is None or not c["name"].startswith(prefix):
            continue
        if c.get("best_peer") is None and c.get("value") is None:
            continue
        line = (f"- {c['name']}: {_measured_text(c)} (mrqc {_ref_text(c['mrqc'], c)}; "
                f"best peer {_ref_text(c['best_peer'], c)})")
        if c.get("target"):
            line += f"; target {c['target_text']}: **{c['verdict']}**"
        out.append(line)
    return [""] + out if out else []


def _config_lines(systems: dict) -> list[str]:
    out = ["| system | config | concurrency | worker command | enqueue: single / bulk |", "|---|---|---:|---|---|"]
    for system, info in systems.items():
        if info.get("error") and not info.get("configs"):
            out.append(f"| {system} | - | - | not run: {_md(info['error'].splitlines()[0])} | |")
            continue
        for c in info.get("configs") or []:
            burst = " (drain: with `--burst`)" if c.get("drain_uses_burst") else ""
            out.append(f"| {system} | {c['name']} | {c['concurrency']} | `{_md(c['command'])}`{burst} | "
                       f"`{_md(info.get('single_api') or '')}` / `{_md(info.get('bulk_api') or 'none')}` |")
    return out


def _measured_text(c: dict) -> str:
    if c.get("ratio") is not None:
        return f"{c['ratio']:.2f}x"
    if c.get("value") is not None:
        return f"{c['value']:.0%}" if c["field"] == "efficiency" else f"{c['value']:+.1%}"
    return c["verdict"] if c["verdict"] in ("ERROR",) else "n/a"


def _ref_text(ref: dict | None, c: dict) -> str:
    if ref is None:
        return "-"
    field = c["field"]
    if field in ("efficiency", "growth"):
        value = f"{ref['value']:.0%}" if field == "efficiency" else f"{ref['value']:+.1%}"
    elif field.endswith("_ms"):
        value = f"{ref['value']:.2f} ms"
    else:
        value = f"{ref['value']:,.0f} {c.get('unit', '')}".strip()
    return f"{value} ({ref['system']} {ref['config']})"


def _value(row: dict, field: str, fmt: str) -> str:
    if row.get("error"):
        return "ERROR"
    if row.get("skipped"):
        return f"skipped: {_md(row['skipped'])}"
    if row.get("unavailable"):
        return f"not available: {_md(row['unavailable'])}"
    return _num(row.get(field), fmt)


def _num(value: Any, fmt: str) -> str:
    return fmt.format(value) if isinstance(value, (int, float)) else ""


def _times(best: dict | None, row: dict, field: str, higher: bool) -> str:
    if best is None or not isinstance(row.get(field), (int, float)) or not row[field]:
        return ""
    ratio = best[field] / row[field] if higher else row[field] / best[field]
    return f"{ratio:.2f}x"


def _row(*cells: Any) -> str:
    return "| " + " | ".join(str(cell) for cell in cells) + " |"


def _md(text: str) -> str:
    return str(text).replace("|", "\\|").replace("`", "'").replace("\n", " ")
