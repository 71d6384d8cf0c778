"""One table of ratios, each with its target and whether this run met it."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass

from bench.run import (
    CONCURRENCY,
    CPU_BOUND_CONCURRENCY,
    CPU_BOUND_DELAYS,
    PEER_CLIENTS,
    PEER_LATENCY_DELAYS,
    PEER_SETTINGS,
    Results,
    peer_key,
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


def _peer_vs_naive(r: Results) -> str:
    """The peer's own ratio in the CPU-bound setting, as measured in this run."""
    hive = r.rps(peer_key("hive", CPU_BOUND_DELAYS, CPU_BOUND_CONCURRENCY))
    ratio = _ratio(hive, r.rps("cpu_naive"))
    return "Hive: no run" if ratio is None else f"Hive {hive or 0:.0f} rps, {ratio:.1f}×"


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
            f"{cpu or 0:.0f} vs {cpu_naive or 0:.0f} rps; {_peer_vs_naive(r)}",
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
    naive_p50 = r.median("lat_naive", lambda m: m.load.p50_ms)
    cached, trivial = r.rps("cached"), r.rps("trivial")
    measured = [v for k, v in ((k, r.rps(k)) for k in r.runs) if k != "ceiling" and v]
    alt = [] if r.alt_transport is None else _transport_rows(r, "alt_", f" [{r.alt_transport}]")
    return [
        _row("R_lat = p50(fullinfo, c=1) / D", _ratio(p50, d), 1.10, f"{p50 or 0:.1f} ms"),
        _row("R_lat p99 = p99(fullinfo, c=1) / D", _ratio(p99, d), 1.5, f"{p99 or 0:.1f} ms"),
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


# Issue 7's targets against the peer (Hive Gateway), read in one interleaved run.
PEER_GRAPHQL_TARGET = 2.0  # GraphQL fullinfo rps / Hive rps, c=32, both settings
PEER_REST_TARGET = 2.5  # REST /fullinfo rps / Hive rps, c=32, both settings
PEER_LATENCY_TARGET = 1.05  # p50 / slowest backend at c=1, backends 40/20 ms
PEER_CACHED_TARGET = 5.0  # cache-on GraphQL rps / Hive (uncached) rps
PEER_SIDE_NAMES = {
    "gql": "GraphQL fullinfo",
    "rest": "REST /fullinfo",
    "cached": "GraphQL fullinfo, cache on (hits) vs Hive uncached",
}


@dataclass(frozen=True, slots=True)
class PeerRow:
    scenario: str
    ours: str  # rps, and p50 / slowest backend at c=1
    hive: str
    ratio: str  # rps / peer
    cpu: str  # server CPU ms per request, Canaduck / Hive (steadier than rps on a busy host)
    target: str
    verdict: str  # "pass", "MISS", "info" or "n/a"


def _rps_p50(r: Results, key: str, slowest_ms: float, with_p50: bool) -> str:
    rps = r.rps(key)
    if rps is None:
        return "n/a"
    if not with_p50:
        return f"{rps:.0f}"
    p50 = r.median(key, lambda m: m.load.p50_ms) or 0.0
    return f"{rps:.0f} (p50 {p50:.1f} ms = {p50 / slowest_ms:.2f}×)"


def _cpu_pair(r: Results, ours: str, hive: str) -> str:
    values = [r.median(key, lambda m: m.cpu_ms) for key in (ours, hive)]
    return " / ".join("n/a" if v is None else f"{v:.2f}" for v in values)


def _verdict(value: float | None, target: float, *, at_most: bool) -> str:
    if value is None:
        return "n/a"
    return "pass" if (value <= target if at_most else value >= target) else "MISS"


def peer_rows(r: Results) -> list[PeerRow]:
    """Canaduck beside Hive Gateway: rps / peer at both settings, c=1 and c=32."""
    found = []
    for side, label in PEER_SIDE_NAMES.items():
        for delays in PEER_SETTINGS:
            slowest = max(delays)
            for c in PEER_CLIENTS:
                ours_key, hive_key = peer_key(side, delays, c), peer_key("hive", delays, c)
                ratio = _ratio(r.rps(ours_key), r.rps(hive_key))
                latency = c == 1 and side != "cached"
                scenario = f"{label}, backends {delays[0]:g}/{delays[1]:g} ms, c={c}"
                if side == "cached":
                    target, verdict = (
                        _target(PEER_CACHED_TARGET, False),
                        _verdict(ratio, PEER_CACHED_TARGET, at_most=False),
                    )
                elif c > 1:
                    goal = PEER_GRAPHQL_TARGET if side == "gql" else PEER_REST_TARGET
                    target, verdict = _target(goal, False), _verdict(ratio, goal, at_most=False)
                elif delays == PEER_LATENCY_DELAYS:
                    p50 = r.median(ours_key, lambda m: m.load.p50_ms)
                    target = f"p50 {_target(PEER_LATENCY_TARGET, True)}×"
                    verdict = _verdict(_ratio(p50, slowest), PEER_LATENCY_TARGET, at_most=True)
                else:
                    target, verdict = "", "info" if r.rps(ours_key) is not None else "n/a"
                if side == "cached" and not r.cache:
                    verdict = "n/a"
                found.append(
                    PeerRow(
                        scenario,
                        _rps_p50(r, ours_key, slowest, latency),
                        _rps_p50(r, hive_key, slowest, latency),
                        "n/a" if ratio is None else f"{ratio:.2f}",
                        _cpu_pair(r, ours_key, hive_key),
                        target,
                        verdict,
                    )
                )
    workers_ratio = _ratio(r.rps("workers"), r.rps("hive_workers"))
    w, j = CPU_BOUND_DELAYS
    found.append(
        PeerRow(
            f"GraphQL fullinfo, backends {w:g}/{j:g} ms, c={CPU_BOUND_CONCURRENCY}, "
            + (f"{r.workers} processes each" if r.workers > 1 else "N processes each"),
            _rps_p50(r, "workers", max(CPU_BOUND_DELAYS), False),
            _rps_p50(r, "hive_workers", max(CPU_BOUND_DELAYS), False),
            "n/a" if workers_ratio is None else f"{workers_ratio:.2f}",
            _cpu_pair(r, "workers", "hive_workers"),
            _target(PEER_GRAPHQL_TARGET, False) if r.workers > 1 else "--workers N",
            _verdict(workers_ratio, PEER_GRAPHQL_TARGET, at_most=False) if r.workers > 1 else "n/a",
        )
    )
    return found


def peer_table(r: Results, version: str = "?") -> str:
    """The peer comparison as its own table, with why the Hive column is empty if it is."""
    head = (
        f"vs the peer: Hive Gateway {version} (GraphQL Mesh supergraph over the same stubs, "
        "one Node process pinned like the gateway), cache off unless said"
    )
    if r.peer_missing is not None:
        head += f"\npeer rows missing: {r.peer_missing}"
    if r.workers_missing is not None:
        head += f"\nN-processes row missing: {r.workers_missing}"
    all_rows = peer_rows(r)
    grid = [
        (
            "scenario",
            "Canaduck rps",
            "Hive rps",
            "rps / peer",
            "CPU ms/req C / H",
            "target",
            "result",
        )
    ]
    grid += [(x.scenario, x.ours, x.hive, x.ratio, x.cpu, x.target, x.verdict) for x in all_rows]
    widths = [max(len(cells[i]) for cells in grid) for i in range(len(grid[0]))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip() for cells in grid
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    verdicts = [x.verdict for x in all_rows]
    summary = f"peer targets: {verdicts.count('pass')} met, {verdicts.count('MISS')} missed"
    if verdicts.count("n/a"):
        summary += f", {verdicts.count('n/a')} n/a"
    return "\n".join([head, *lines, summary])
