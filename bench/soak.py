"""``python -m bench.soak``: the gateway for minutes under load while its upstreams misbehave.

    python -m bench.soak [--minutes 10] [--phase-seconds 30] [--clients 16]

Real processes on loopback: the gateway and two switchable stub upstreams
(``tests.support.stub_upstream``). Clients send a mix of GraphQL ``fullinfo`` and REST
``/fullinfo``, ``/weather`` and ``/joke`` for a rotating set of cities, back to back, while
every phase (30 s) the stubs change mode, cycling through healthy, blackhole (accept, never
answer), garbage (200s of the wrong shape) and reset (half a body, then a TCP reset); the
joke stub runs one mode ahead of the weather stub, so every pairing of faults shows up.

Every few seconds it reads the gateway's ``/metrics`` (``process_resident_memory_bytes``,
``process_open_fds``, ``canaduck_asyncio_tasks``: nothing a client could not scrape) and prints
a line. The first full cycle of faults is the warm-up; the memory baseline is taken at its
end. Checks, printed at the end:

* RSS grows at most 10 % from the baseline to the end;
* once the load stops and the stubs are healthy, open FDs (less the kept-alive upstream
  connections, which the stubs count) and asyncio tasks return to their idle baseline;
* no answer is a 500.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from bench.client import Connection, _address, build_request
from tests.support.processes import StubProcess, gateway_env, running, running_stub

MODES = ("healthy", "blackhole", "wrong_shape", "reset")
CITIES = ("Rodez", "Paris", "Lyon", "Oslo", "Honolulu", "Tombouctou", "Nantes", "Lille")
RSS_GROWTH_MAX = 0.10
FD_SLACK = 2  # a listening or closing socket caught mid-change
TASK_SLACK = 2
SETTLE_SECONDS = 15.0
CLIENT_TIMEOUT_SECONDS = 10.0
_SAMPLE = re.compile(
    r"^(process_resident_memory_bytes|process_open_fds|canaduck_asyncio_tasks) (\S+)$", re.M
)


def requests(base: str) -> list[bytes]:
    """The raw requests clients cycle through: both doors, several cities."""
    raw = []
    for city in CITIES:
        query = f'{{ fullinfo(city: "{city}") {{ city weather {{ temperature }} joke }} }}'
        raw.append(build_request(base + "/graphql", "POST", json.dumps({"query": query}).encode()))
        raw.append(build_request(f"{base}/fullinfo?city={city}"))
        raw.append(build_request(f"{base}/weather?city={city}"))
    raw.append(build_request(base + "/joke"))
    return raw


@dataclass
class Sample:
    at: float  # seconds since the soak started
    phase: str
    rss_bytes: float
    open_fds: float
    tasks: float
    pooled: int  # the gateway's connections the stubs hold open
    answers: int

    def line(self) -> str:
        return (
            f"{self.at:6.0f} s  {self.phase:<24} rss {self.rss_bytes / 2**20:6.1f} MiB  "
            f"fds {self.open_fds:4.0f} (pooled {self.pooled:3d})  tasks {self.tasks:4.0f}  "
            f"answers {self.answers}"
        )


@dataclass
class SoakResult:
    statuses: Counter[int] = field(default_factory=Counter)  # 0: no answer
    samples: list[Sample] = field(default_factory=list)
    idle: Sample | None = None  # before the load
    baseline: Sample | None = None  # end of the warm-up (memory)
    settled: Sample | None = None  # after the load, stubs healthy

    @property
    def rss_growth(self) -> float:
        assert self.baseline is not None
        assert self.samples
        return self.samples[-1].rss_bytes / self.baseline.rss_bytes - 1

    def checks(self) -> list[tuple[str, bool, str]]:
        assert self.idle is not None
        assert self.settled is not None
        idle_fds = self.idle.open_fds - self.idle.pooled
        settled_fds = self.settled.open_fds - self.settled.pooled
        return [
            (
                f"RSS grows <= {RSS_GROWTH_MAX:.0%} after the warm-up",
                self.rss_growth <= RSS_GROWTH_MAX,
                f"{self.rss_growth:+.1%}",
            ),
            (
                "open FDs back to the idle baseline (less pooled connections)",
                settled_fds <= idle_fds + FD_SLACK,
                f"{idle_fds:.0f} -> {settled_fds:.0f}",
            ),
            (
                "asyncio tasks back to the idle baseline",
                self.settled.tasks <= self.idle.tasks + TASK_SLACK,
                f"{self.idle.tasks:.0f} -> {self.settled.tasks:.0f}",
            ),
            ("no answer is a 500", self.statuses[500] == 0, f"{self.statuses[500]} x 500"),
        ]

    @property
    def ok(self) -> bool:
        return all(ok for _, ok, _ in self.checks())


class Soak:
    def __init__(
        self,
        gateway_url: str,
        weather: StubProcess,
        joke: StubProcess,
        *,
        clients: int,
        out: Callable[[str], None],
    ) -> None:
        self.url = gateway_url
        self.weather, self.joke = weather, joke
        self.clients = clients
        self.out = out
        self.result = SoakResult()
        self.started = time.monotonic()
        self.phase = "healthy/healthy"
        self._stop = asyncio.Event()

    async def sample(self) -> Sample:
        metrics = await asyncio.to_thread(self._scrape)
        pooled = 0
        for stub in (self.weather, self.joke):
            pooled += int((await asyncio.to_thread(stub.stats))["open_connections"])
        return Sample(
            time.monotonic() - self.started,
            self.phase,
            metrics["process_resident_memory_bytes"],
            metrics["process_open_fds"],
            metrics["canaduck_asyncio_tasks"],
            pooled,
            sum(self.result.statuses.values()),
        )

    def _scrape(self) -> dict[str, float]:
        import httpx

        text = httpx.get(self.url + "/metrics", timeout=10.0).text
        return {name: float(value) for name, value in _SAMPLE.findall(text)}

    async def _client(self, index: int) -> None:
        raws = requests(self.url)
        host, port = _address(self.url)
        connection = Connection(host, port)
        turn = index
        try:
            while not self._stop.is_set():
                turn += 1
                try:
                    status = await asyncio.wait_for(
                        connection.request(raws[turn % len(raws)]), CLIENT_TIMEOUT_SECONDS
                    )
                except (OSError, asyncio.IncompleteReadError, TimeoutError, ValueError):
                    status = 0
                    await connection.close()
                self.result.statuses[status] += 1
        finally:
            await connection.close()

    async def _set_modes(self, cycle_index: int) -> None:
        weather, joke = MODES[cycle_index % 4], MODES[(cycle_index + 1) % 4]
        await asyncio.to_thread(self.weather.set_mode, weather)
        await asyncio.to_thread(self.joke.set_mode, joke)
        self.phase = f"{weather}/{joke}"

    async def run(self, seconds: float, phase_seconds: float, sample_seconds: float) -> None:
        self.result.idle = await self.sample()
        self.out(f"idle     {self.result.idle.line()}")
        self.started = time.monotonic()
        clients = [asyncio.create_task(self._client(i)) for i in range(self.clients)]
        warmup = phase_seconds * len(MODES)
        phase_index = -1
        next_sample = 0.0
        while (elapsed := time.monotonic() - self.started) < seconds:
            if int(elapsed // phase_seconds) != phase_index:
                phase_index = int(elapsed // phase_seconds)
                await self._set_modes(phase_index)
            if self.result.baseline is None and elapsed >= warmup:
                self.result.baseline = await self.sample()
                self.out(f"baseline {self.result.baseline.line()}")
            if elapsed >= next_sample:
                sample = await self.sample()
                self.result.samples.append(sample)
                self.out(f"         {sample.line()}")
                next_sample += sample_seconds
            await asyncio.sleep(0.2)
        self._stop.set()
        await asyncio.gather(*clients)
        self.result.samples.append(await self.sample())
        if self.result.baseline is None:  # a run shorter than one cycle
            self.result.baseline = self.result.samples[0]
        await self._settle()

    async def _settle(self) -> None:
        """Stubs healthy, no load: wait (bounded) for FDs and tasks to come back."""
        await asyncio.to_thread(self.weather.set_mode, "healthy")
        await asyncio.to_thread(self.joke.set_mode, "healthy")
        self.phase = "settled (no load)"
        assert self.result.idle is not None
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            await asyncio.sleep(0.5)
            settled = await self.sample()
            self.result.settled = settled
            checks = self.result.checks()
            if time.monotonic() > deadline or (checks[1][1] and checks[2][1]):
                break
        self.out(f"settled  {settled.line()}")


def soak(
    seconds: float,
    *,
    phase_seconds: float = 30.0,
    clients: int = 16,
    sample_seconds: float = 10.0,
    breaker_cooldown_seconds: float = 30.0,
    out: Callable[[str], None] = print,
) -> SoakResult:
    """Start the stubs and the gateway, soak, stop everything; the result says how it went.

    A breaker cooldown shorter than a phase lets a short soak see the probes and the
    recoveries too (with the default 30 s, a breaker opened by one fault stays open).
    """
    with running_stub("weather") as weather, running_stub("joke") as joke:
        # Short weather TTL: the cache, its stale answers and coalescing all take part.
        env = gateway_env(
            weather,
            joke,
            cache_weather_ttl_seconds=5,
            breaker_cooldown_seconds=breaker_cooldown_seconds,
            shutdown_drain_seconds=0,  # nothing routes here: stop at once
        )
        with running("gateway", env=env, args=("--no-access-log",)) as gateway:
            run = Soak(gateway.url, weather, joke, clients=clients, out=out)
            asyncio.run(run.run(seconds, phase_seconds, sample_seconds))
            return run.result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.soak", description=__doc__)
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--phase-seconds", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--sample-seconds", type=float, default=10.0)
    parser.add_argument(
        "--breaker-cooldown-seconds", type=float, default=30.0, help="the gateway's (30)"
    )
    args = parser.parse_args(argv)
    result = soak(
        args.minutes * 60,
        phase_seconds=args.phase_seconds,
        clients=args.clients,
        sample_seconds=args.sample_seconds,
        breaker_cooldown_seconds=args.breaker_cooldown_seconds,
        out=lambda line: print(line, flush=True),
    )
    answers = ", ".join(f"{status or 'none'}: {n}" for status, n in sorted(result.statuses.items()))
    print(f"\nanswers by status: {answers}")
    for what, ok, seen in result.checks():
        print(f"  [{'ok' if ok else 'FAILED'}] {what}: {seen}")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
