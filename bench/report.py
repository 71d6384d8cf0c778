"""One table of ratios, each with its target and whether this run met it."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from bench.run import (
    CONCURRENCY,
    CPU_BOUND_CONCURRENCY,
    CPU_BOUND_DELAYS,
    PEER_LATENCY_DELAYS,
    Results,
)

NO_CACHE = "n/a (no cache)"
# "Far ahead with the cache on" read as twice the peer's 3.6× the naive aggregator.
CACHED_SPEEDUP_TARGET = 7.2


@dataclass(frozen=True, slots=True)
class Row:
    metric: str
    measured: str
    target: str
    verdict: str  # "pass", "MISS", "info" or "n/a"


def _row(
    metric: str,
    value: float | None,
    target: float | None,
    detail: str = "",
    *,
    at_most: bool = True,
    missing: str = "n/a",
    digits: int = 2,
) -> Row:
    if value is None:
        return Row(metric, missing, "" if target is None else _target(target, at_most), "n/a")
    shown = f"{value:.{digits}f}" + (f" ({detail})" if detail else "")
    if target is None:
        return Row(metric, shown, "", "info")
    compare: Callable[[float, float], bool] = operator.le if at_most else operator.ge
    return Row(
        metric, shown, _target(target, at_most), "pass" if compare(value, target) else "MISS"
    )


def _target(target: float, at_most: bool) -> str:
    return f"{'≤' if at_most else '≥'} {target:g}"


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None or b == 0 else a / b


def _transport_rows(r: Results, prefix: str, tag: str) -> list[Row]:
    """The rows that depend on the gateway's HTTP client (``prefix`` picks its runs)."""
    ideal = CONCURRENCY / (r.delay_ms / 1000)
    conc, passthrough = r.rps(prefix + "conc"), r.rps(prefix + "pass")
    cpu, cpu_naive = r.rps(prefix + "cpu"), r.rps("cpu_naive")
    cpu_ms = r.median(prefix + "conc", lambda m: m.cpu_ms)
    cpu_bound_ms = r.median(prefix + "cpu", lambda m: m.cpu_ms)
    naive_ms = r.median("cpu_naive", lambda m: m.cpu_ms)
    w, j = CPU_BOUND_DELAYS
    return [
        _row(
            f"R_conc = rps(fullinfo, c={CONCURRENCY}) / ({CONCURRENCY}/D){tag}",
            _ratio(conc, ideal),
            0.8,
            f"{conc or 0:.0f} rps",
            at_most=False,
        ),
        _row(
            f"R_pass = rps(/weather, c={CONCURRENCY}) / ({CONCURRENCY}/D){tag}",
            _ratio(passthrough, ideal),
            0.9,
            f"{passthrough or 0:.0f} rps",
            at_most=False,
        ),
        _row(
            f"c={CONCURRENCY} throughput vs naive (note §9){tag}",
            _ratio(conc, r.rps("conc_naive")),
            20,
            f"naive {r.rps('conc_naive') or 0:.0f} rps",
            at_most=False,
        ),
        _row(
            f"CPU-bound {w:g}/{j:g} ms, c={CPU_BOUND_CONCURRENCY}: rps vs naive{tag}",
            _ratio(cpu, cpu_naive),
            3.6,
            f"{cpu or 0:.0f} vs {cpu_naive or 0:.0f} rps; peer ~1,700 vs ~480",
            at_most=False,
        ),
        _row(f"gateway CPU ms per fullinfo, c={CONCURRENCY} (note §9){tag}", cpu_ms, 1.2),
        _row(
            f"CPU per request, CPU-bound: gateway / naive{tag}",
            _ratio(cpu_bound_ms, naive_ms),
            round(1 / 3.6, 2),
            f"{cpu_bound_ms or 0:.2f} vs {naive_ms or 0:.2f} ms",
        ),
    ]


def rows(r: Results) -> list[Row]:
    d = r.delay_ms
    p50 = r.median("lat", lambda m: m.load.p50_ms)
    p99 = r.median("lat", lambda m: m.load.p99_ms)
    peer_p50 = r.median("lat_peer", lambda m: m.load.p50_ms)
    naive_p50 = r.median("lat_naive", lambda m: m.load.p50_ms)
    cached, trivial = r.rps("cached"), r.rps("trivial")
    measured = [v for k, v in ((k, r.rps(k)) for k in r.runs) if k != "ceiling" and v]
    alt = [] if r.alt_transport is None else _transport_rows(r, "alt_", f" [{r.alt_transport}]")
    return [
        _row("R_lat = p50(fullinfo, c=1) / D", _ratio(p50, d), 1.10, f"{p50 or 0:.1f} ms"),
        _row("R_lat p99 = p99(fullinfo, c=1) / D", _ratio(p99, d), 1.5, f"{p99 or 0:.1f} ms"),
        _row(
            "p50(c=1) / slowest backend, at {:g}/{:g} ms (peer 1.04–1.07)".format(
                *PEER_LATENCY_DELAYS
            ),
            _ratio(peer_p50, max(PEER_LATENCY_DELAYS)),
            1.07,
            f"{peer_p50 or 0:.1f} ms",
        ),
        _row(
            "c=1 latency vs naive: p50 gateway / p50 naive",
            _ratio(p50, naive_p50),
            0.55,
            f"naive {naive_p50 or 0:.1f} ms",
        ),
        _row(
            "upstream calls per uncached fullinfo (c=1)",
            r.median("lat", lambda m: m.upstream_calls),
            None,
        ),
        *_transport_rows(r, "", ""),
        *alt,
        _row(
            "cached fullinfo rps / { __typename } rps",
            _ratio(cached, trivial),
            0.8,
            f"{cached or 0:.0f} / {trivial or 0:.0f} rps",
            at_most=False,
            missing=f"{NO_CACHE}; {{ __typename }} {trivial or 0:.0f} rps, "
            f"{r.median('trivial', lambda m: m.cpu_ms) or 0:.2f} CPU ms",
        ),
        _row(
            "upstream calls per cached request",
            r.median("cached", lambda m: m.upstream_calls),
            0.001,
            missing=NO_CACHE,
            digits=4,
        ),
        _row(
            "coalescing: weather calls per key, burst of 100 misses (max)",
            float(max(r.bursts)) if r.bursts else None,
            1,
            f"bursts: {r.bursts}",
            missing=NO_CACHE,
            digits=0,
        ),
        _row(
            "CPU-bound, cache on: rps vs naive",
            _ratio(r.rps("cpu_cached"), r.rps("cpu_naive")),
            CACHED_SPEEDUP_TARGET,
            f"{r.rps('cpu_cached') or 0:.0f} rps",
            at_most=False,
            missing=NO_CACHE,
        ),
        _row(
            "load generator headroom: its ceiling / best rps measured",
            _ratio(r.rps("ceiling"), max(measured, default=None)),
            3,
            f"ceiling {r.rps('ceiling') or 0:.0f} rps",
            at_most=False,
            digits=1,
        ),
    ]


def table(all_rows: list[Row]) -> str:
    grid = [("metric", "measured", "target", "result")]
    grid += [(row.metric, row.measured, row.target, row.verdict) for row in all_rows]
    widths = [max(len(cells[i]) for cells in grid) for i in range(4)]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() for cells in grid
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    verdicts = [row.verdict for row in all_rows]
    counts = {v: verdicts.count(v) for v in ("pass", "MISS", "n/a")}
    summary = f"targets: {counts['pass']} met, {counts['MISS']} missed"
    if counts["n/a"]:
        summary += f", {counts['n/a']} n/a (the gateway has no cache yet)"
    lines.append(summary)
    return "\n".join(lines)
