"""The measured scenarios, run interleaved (A B C …, A B C …) so drift hits them all alike."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.client import LoadResult, burst
from bench.loadgen import Generator
from bench.stack import TARGETS, Stack, Target, fullinfo_body, naive_target

# The peer's settings (issue 7): latency at 40/20 ms, throughput at 4/2 ms with 32 clients.
PEER_LATENCY_DELAYS = (40.0, 20.0)
CPU_BOUND_DELAYS = (4.0, 2.0)
CPU_BOUND_CONCURRENCY = 32
CONCURRENCY = 50
BURST_SIZE = 100
SETTLE_SECONDS = 5.0  # the longest wait for a server's in-flight work after a run
PRIME_SECONDS = 2  # load on each compared server before the first measure


# The peer comparison (issue 7): both backend settings, one client and CPU-bound clients.
PEER_SETTINGS = (PEER_LATENCY_DELAYS, CPU_BOUND_DELAYS)
PEER_CLIENTS = (1, CPU_BOUND_CONCURRENCY)
# What each side of the peer comparison requests: Canaduck's GraphQL fullinfo (cache off),
# its REST /fullinfo, its cache-on GraphQL fullinfo (hits), and Hive Gateway's fullinfo.
PEER_SIDES = {
    "gql": "fullinfo",
    "rest": "rest_fullinfo",
    "cached": "cached",
    "hive": "peer_fullinfo",
}


@dataclass(frozen=True, slots=True)
class Scenario:
    key: str
    target: Target
    concurrency: int
    delays: tuple[float, float] | None  # None: the run's D for both
    needs_cache: bool = False
    needs_alt: bool = False
    needs_peer: bool = False
    needs_workers: bool = False


def peer_key(side: str, delays: tuple[float, float], concurrency: int) -> str:
    """The scenario key of one cell of the peer comparison (shared with older rows)."""
    shared = {
        ("gql", PEER_LATENCY_DELAYS, 1): "lat_peer",
        ("gql", CPU_BOUND_DELAYS, CPU_BOUND_CONCURRENCY): "cpu",
        ("cached", CPU_BOUND_DELAYS, CPU_BOUND_CONCURRENCY): "cpu_cached",
    }
    weather, joke = delays
    return shared.get((side, delays, concurrency), f"{side}_{weather:g}_{joke:g}_c{concurrency}")


def peer_scenarios(known: set[str]) -> list[Scenario]:
    """Every cell of the peer comparison that ``known`` does not already measure."""
    found = []
    for delays in PEER_SETTINGS:
        for c in PEER_CLIENTS:
            for side, target in PEER_SIDES.items():
                key = peer_key(side, delays, c)
                if key not in known:
                    found.append(
                        Scenario(
                            key,
                            TARGETS[target],
                            c,
                            delays,
                            needs_cache=side == "cached",
                            needs_peer=side == "hive",
                        )
                    )
    # N processes each (--workers N): the gateway's workers against Hive's --fork N.
    c_cpu = CPU_BOUND_CONCURRENCY
    found += [
        Scenario(
            "workers", TARGETS["workers_fullinfo"], c_cpu, CPU_BOUND_DELAYS, needs_workers=True
        ),
        Scenario(
            "hive_workers",
            TARGETS["peer_workers_fullinfo"],
            c_cpu,
            CPU_BOUND_DELAYS,
            needs_peer=True,
            needs_workers=True,
        ),
    ]
    return found


def scenarios() -> list[Scenario]:
    base = _base_scenarios()
    return base + peer_scenarios({s.key for s in base})


def _base_scenarios() -> list[Scenario]:
    cpu, c_cpu = CPU_BOUND_DELAYS, CPU_BOUND_CONCURRENCY
    return [
        Scenario("ceiling", TARGETS["stub"], CONCURRENCY, None),
        Scenario("lat", TARGETS["fullinfo"], 1, None),
        Scenario("lat_naive", naive_target(1), 1, None),
        Scenario("lat_peer", TARGETS["fullinfo"], 1, PEER_LATENCY_DELAYS),
        Scenario("conc", TARGETS["fullinfo"], CONCURRENCY, None),
        Scenario("alt_conc", TARGETS["alt_fullinfo"], CONCURRENCY, None, needs_alt=True),
        Scenario("pass", TARGETS["weather"], CONCURRENCY, None),
        Scenario("alt_pass", TARGETS["alt_weather"], CONCURRENCY, None, needs_alt=True),
        Scenario("conc_naive", naive_target(CONCURRENCY), CONCURRENCY, None),
        Scenario("trivial", TARGETS["trivial"], CONCURRENCY, None),
        Scenario("cached", TARGETS["cached"], CONCURRENCY, None, needs_cache=True),
        Scenario("cpu", TARGETS["fullinfo"], c_cpu, cpu),
        Scenario("alt_cpu", TARGETS["alt_fullinfo"], c_cpu, cpu, needs_alt=True),
        Scenario("cpu_naive", naive_target(c_cpu), c_cpu, cpu),
        Scenario("cpu_cached", TARGETS["cached"], c_cpu, cpu, needs_cache=True),
    ]


@dataclass(frozen=True, slots=True)
class Measurement:
    load: LoadResult
    cpu_ms: float  # server CPU per answered request
    upstream_calls: float  # per answered request


@dataclass
class Results:
    """Every repeat of every scenario, plus the bursts; medians on demand."""

    delay_ms: float
    cache: bool
    alt_transport: str | None = None
    peer_missing: str | None = None  # why the peer's rows are empty (None: it ran)
    workers: int = 1
    workers_missing: str | None = None  # why the gateway's N-processes row is empty
    runs: dict[str, list[Measurement]] = field(default_factory=dict)
    bursts: list[int] = field(default_factory=list)  # weather calls per burst's key

    def errors(self) -> dict[str, int]:
        """Failed or non-2xx answers, per scenario that had any."""
        counts = {key: sum(m.load.errors for m in runs) for key, runs in self.runs.items()}
        return {key: n for key, n in counts.items() if n}

    def median(self, key: str, metric: Callable[[Measurement], float]) -> float | None:
        values = [metric(m) for m in self.runs.get(key, [])]
        return statistics.median(values) if values else None

    def rps(self, key: str) -> float | None:
        return self.median(key, lambda m: m.load.rps)


class Runner:
    def __init__(self, stack: Stack, generator: Generator, *, duration: int, warmup: int) -> None:
        self.stack = stack
        self.generator = generator
        self.duration = duration
        self.warmup = warmup

    def measure(self, scenario: Scenario) -> Measurement:
        stack = self.stack
        stack.set_delays(*(scenario.delays or (stack.delay_ms, stack.delay_ms)))
        url = stack.url(scenario.target)
        body, c = scenario.target.body, scenario.concurrency
        if self.warmup:
            self.generator.run(url, body, c, self.warmup)
        server = stack.servers[scenario.target.process]
        calls = self._settled_calls()
        cpu = server.cpu_seconds()
        load = self.generator.run(url, body, c, self.duration)
        done = max(1, load.requests)
        cpu_ms = (server.cpu_seconds() - cpu) * 1000 / done
        return Measurement(load, cpu_ms, (self._settled_calls() - calls) / done)

    def _settled_calls(self) -> int:
        """The upstream call count once the requests still in flight have finished."""
        calls, deadline = self.stack.upstream_calls(), time.monotonic() + SETTLE_SECONDS
        while time.monotonic() < deadline:
            time.sleep(max(self.stack.delays) / 1000 * 2 + 0.05)
            now = self.stack.upstream_calls()
            if now == calls:
                break
            calls = now
        return calls

    def burst(self, repeat: int) -> int:
        """100 identical concurrent misses on a fresh key; the weather calls that key cost."""
        self.stack.set_delays(self.stack.delay_ms, self.stack.delay_ms)
        city = f"Burst{repeat}"
        url = self.stack.url(TARGETS["cached"])
        statuses = asyncio.run(
            burst(url, method="POST", body=fullinfo_body(city).encode(), size=BURST_SIZE)
        )
        if any(status != 200 for status in statuses):
            raise RuntimeError(f"burst answers were not all 200: {sorted(set(statuses))}")
        time.sleep(0.2)  # let a straggling upstream call land in the counter
        return self.stack.weather_calls(city)

    def _wanted(self, scenario: Scenario, cache: bool) -> bool:
        stack = self.stack
        return (
            (cache or not scenario.needs_cache)
            and (stack.alt_transport is not None or not scenario.needs_alt)
            # The peer's and the N-processes scenarios need their process to be running.
            and (
                not (scenario.needs_peer or scenario.needs_workers)
                or stack.has(scenario.target.process)
            )
        )

    def _prime(self, targets: set[Target], progress: Callable[[str], None]) -> None:
        """Load each of ``targets`` once before any measure, so V8 has optimised the peer's
        hot code (its JIT needs thousands of requests, more than a 1 s warmup at c=1 sends)
        and the gateway's caches of parsed documents are as warm as they will be."""
        self.stack.set_delays(*CPU_BOUND_DELAYS)
        for target in sorted(targets, key=lambda t: t.process):
            progress(f"priming {target.process}")
            self.generator.run(
                self.stack.url(target), target.body, CPU_BOUND_CONCURRENCY, PRIME_SECONDS
            )

    def run(self, repeats: int, progress: Callable[[str], None]) -> Results:
        stack = self.stack
        cache = stack.cache_active()
        stack.check_peer()  # before measuring: the same data, or no peer rows
        chosen = [s for s in scenarios() if self._wanted(s, cache)]
        for target in {s.target for s in chosen}:
            stack.check(target)
        self._prime({s.target for s in chosen if s.needs_peer} | {TARGETS["fullinfo"]}, progress)
        results = Results(
            stack.delay_ms,
            cache,
            stack.alt_transport,
            peer_missing=stack.peer_missing,
            workers=stack.workers,
            workers_missing=stack.workers_missing,
        )
        for repeat in range(repeats):
            for scenario in chosen:
                progress(f"repeat {repeat + 1}/{repeats}: {scenario.key}")
                results.runs.setdefault(scenario.key, []).append(self.measure(scenario))
            if cache:
                progress(f"repeat {repeat + 1}/{repeats}: burst")
                results.bursts.append(self.burst(repeat))
        return results
