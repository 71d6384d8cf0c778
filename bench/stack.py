"""The processes under test and the requests sent to them.

Two stubs (weather, joke), the gateway twice (cache off, cache on: the cache settings are
the contract ``GATEWAY_CACHE_WEATHER_TTL_SECONDS`` / ``GATEWAY_CACHE_JOKE_TTL_SECONDS``, 0
disables; a gateway without them ignores them), the naive aggregator once per
concurrency it is measured at (gunicorn threads = clients), and the peer, Hive Gateway
(``bench.peer``), when Node and ``node/node_modules`` are there: without them
``Stack.peer_missing`` says why and everything else runs.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypedDict

import httpx

from bench import peer, procs

WEATHER_FIELDS = (
    "city country latitude longitude timezone temperature condition conditionCode humidity "
    "windKph observedAt source"
)
# Every weather field, as the naive aggregator returns them all: equal work, fair ratio.
FULLINFO = "{ fullinfo(city: %s) { city weather { %s } joke } }"
TRIVIAL = "{ __typename }"
CACHE_ON = {"GATEWAY_CACHE_WEATHER_TTL_SECONDS": "60", "GATEWAY_CACHE_JOKE_TTL_SECONDS": "60"}
CACHE_OFF = {"GATEWAY_CACHE_WEATHER_TTL_SECONDS": "0", "GATEWAY_CACHE_JOKE_TTL_SECONDS": "0"}
# The cached gateway takes the burst of 100 identical misses, which measures coalescing:
# room for all of it in flight (the shedding cap, 64 by default, would answer part 503).
BURST_ROOM = {"GATEWAY_MAX_IN_FLIGHT": "256"}


def fullinfo_body(city: str) -> str:
    return json.dumps({"query": FULLINFO % (json.dumps(city), WEATHER_FIELDS)})


class StubStats(TypedDict):
    calls: int  # every call since the stub started
    keys: dict[str, int]  # calls per "city|lang" (weather) or "lang" (joke)


@dataclass(frozen=True, slots=True)
class Target:
    """One kind of request to one process: ``body`` non-empty means a GraphQL POST."""

    process: str  # a key of Stack.servers
    path: str
    body: str = ""


TARGETS = {
    "fullinfo": Target("gateway", "/graphql", fullinfo_body("Rodez")),
    "weather": Target("gateway", "/weather?city=Rodez"),
    "cached": Target("cached", "/graphql", fullinfo_body("Rodez")),
    "trivial": Target("cached", "/graphql", json.dumps({"query": TRIVIAL})),
    "stub": Target("stub-weather", "/health"),
    # The same gateway over another transport, when the run compares two (--also).
    "alt_fullinfo": Target("alt", "/graphql", fullinfo_body("Rodez")),
    "alt_weather": Target("alt", "/weather?city=Rodez"),
    # The REST front door's merged answer (the same two upstream calls as fullinfo).
    "rest_fullinfo": Target("gateway", "/fullinfo?city=Rodez"),
    # The peer (bench.peer), answering the same GraphQL query.
    "peer_fullinfo": Target(peer.NAME, "/graphql", fullinfo_body("Rodez")),
    # N processes each (--workers N): the gateway's workers, Hive Gateway's --fork N.
    "workers_fullinfo": Target("workers", "/graphql", fullinfo_body("Rodez")),
    "peer_workers_fullinfo": Target(f"{peer.NAME}-workers", "/graphql", fullinfo_body("Rodez")),
}


def naive_target(threads: int) -> Target:
    return Target(f"naive-t{threads}", "/fullinfo?city=Rodez")


@dataclass
class Stack:
    """Everything started by :meth:`start`; :meth:`stop` stops it all, in any state."""

    delay_ms: float
    transport: str = "shipped"
    alt_transport: str | None = None
    naive_threads: Iterable[int] = (1,)  # one naive aggregator per client count
    gateway_settings: dict[str, str] = field(default_factory=dict)
    with_peer: bool = True  # start Hive Gateway beside the gateway when it can run here
    workers: int = 1  # > 1: also a gateway with --workers N and Hive with --fork N
    servers: dict[str, procs.Process] = field(default_factory=dict)
    delays: tuple[float, float] = (-1.0, -1.0)
    peer_missing: str | None = None  # why the peer's rows are empty
    workers_missing: str | None = None  # why the gateway's N-processes row is empty
    _workdir: tempfile.TemporaryDirectory[str] | None = None  # the composed supergraph

    def start(self) -> Stack:
        try:
            weather = self._add(procs.stub("weather", self.delay_ms))
            joke = self._add(procs.stub("joke", self.delay_ms))
            self.delays = (self.delay_ms, self.delay_ms)
            gateways = [
                ("gateway", self.transport, CACHE_OFF),
                ("cached", self.transport, {**CACHE_ON, **BURST_ROOM}),
            ]
            if self.alt_transport:
                gateways.append(("alt", self.alt_transport, CACHE_OFF))
            for name, transport, cache in gateways:
                settings = {**cache, **self.gateway_settings}
                server = procs.gateway(
                    weather, joke, transport=transport, settings=settings, name=name
                )
                self._add(server)
            if self.workers > 1:
                self._start_workers(weather, joke)
            for threads in sorted(set(self.naive_threads)):
                self._add(procs.naive(weather, joke, threads))
            self._start_peer(weather, joke)
        except BaseException:
            self.stop()
            raise
        return self

    def _start_workers(self, weather: procs.Process, joke: procs.Process) -> None:
        """The gateway with ``--workers N``; if it does not start, its row says why."""
        settings = {**CACHE_OFF, **self.gateway_settings}
        server = procs.gateway(
            weather, joke, settings=settings, name="workers", workers=self.workers
        )
        try:
            self._add(server)
        except RuntimeError as error:
            self.servers.pop(server.name, None)
            server.stop()
            last = str(error).strip().splitlines()[-1]
            self.workers_missing = f"`python -m gateway --workers {self.workers}` failed: {last}"

    def _start_peer(self, weather: procs.Process, joke: procs.Process) -> None:
        """Compose the supergraph and start Hive Gateway; on any failure, say why instead."""
        if not self.with_peer:
            self.peer_missing = "not asked for (--no-peer)"
            return
        self.peer_missing = peer.missing_reason()
        if self.peer_missing is not None:
            return
        self._workdir = tempfile.TemporaryDirectory(prefix="bench-peer-")
        try:
            supergraph = peer.compose(weather, joke, Path(self._workdir.name))
            self._add(peer.gateway(supergraph))
        except (RuntimeError, OSError, subprocess.SubprocessError) as error:
            self.drop_peer(f"the peer did not start: {error}")
            return
        if self.workers > 1:
            workers = peer.gateway(supergraph, fork=self.workers, name=f"{peer.NAME}-workers")
            try:
                self._add(workers)
            except (RuntimeError, OSError) as error:
                self.servers.pop(workers.name, None)
                workers.stop()
                last = str(error).strip().splitlines()[-1]
                reason = f"`hive-gateway --fork {self.workers}` failed: {last}"
                self.workers_missing = "; ".join(filter(None, (self.workers_missing, reason)))

    def has(self, process: str) -> bool:
        return process in self.servers

    def drop_peer(self, reason: str) -> None:
        """Stop the peer's processes; its rows will show ``reason``."""
        self.peer_missing = reason
        for name in [n for n in self.servers if n.startswith(peer.NAME)]:
            with contextlib.suppress(Exception):
                self.servers.pop(name).stop()

    def _add(self, server: procs.Process) -> procs.Process:
        self.servers[server.name] = server  # registered first, so stop() reaches it
        return server.start()

    def stop(self) -> None:
        for server in reversed(self.servers.values()):
            with contextlib.suppress(Exception):
                server.stop()
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None

    def url(self, target: Target) -> str:
        return self.servers[target.process].url + target.path

    def set_delays(self, weather_ms: float, joke_ms: float) -> None:
        """Change the stubs' delays (no-op when unchanged)."""
        if (weather_ms, joke_ms) == self.delays:
            return
        for name, ms in (("stub-weather", weather_ms), ("stub-joke", joke_ms)):
            httpx.post(f"{self.servers[name].url}/__delay", params={"ms": ms}).raise_for_status()
        self.delays = (weather_ms, joke_ms)

    def upstream_calls(self) -> int:
        return sum(self.stub_stats(name)["calls"] for name in ("stub-weather", "stub-joke"))

    def weather_calls(self, city: str, lang: str = "fr") -> int:
        return self.stub_stats("stub-weather")["keys"].get(f"{city}|{lang}", 0)

    def stub_stats(self, name: str) -> StubStats:
        stats: StubStats = httpx.get(f"{self.servers[name].url}/__stats").json()
        return stats

    def check(self, target: Target) -> None:
        """One request must succeed (a 200 with GraphQL errors would be measured as fast)."""
        url = self.url(target)
        headers = {"content-type": "application/json"}
        if target.body:
            response = httpx.post(url, content=target.body, headers=headers, timeout=10)
        else:
            response = httpx.get(url, timeout=10)
        body = response.json()
        if response.status_code != 200 or "errors" in body:
            raise RuntimeError(f"{url} answered {response.status_code}: {response.text[:500]}")

    def graphql_data(self, target: Target) -> object:
        """The ``data`` of one GraphQL answer; raises on a failed or erroneous answer."""
        response = httpx.post(
            self.url(target),
            content=target.body,
            headers={"content-type": "application/json"},
            timeout=10,
        )
        body = response.json()
        if response.status_code != 200 or "errors" in body:
            raise RuntimeError(f"{target.process} answered {response.status_code}: {body}")
        return body.get("data")

    def check_peer(self) -> None:
        """The peer must answer the gateway's fullinfo query with the same data (a peer that
        answers errors fast is not a peer); otherwise it is dropped, saying why."""
        if self.peer_missing is not None:
            return
        try:
            ours = self.graphql_data(TARGETS["fullinfo"])
            theirs = self.graphql_data(TARGETS["peer_fullinfo"])
        except (RuntimeError, httpx.HTTPError, ValueError) as error:
            self.drop_peer(f"the peer's fullinfo failed: {error}")
            return
        if ours != theirs:
            self.drop_peer(f"the peer answered other data: {theirs!r}, not {ours!r}")

    def cache_active(self) -> bool:
        """Does the cached gateway skip the upstream on a repeat? Asked of the counters."""
        city = "Probe"
        target = Target("cached", "/graphql", fullinfo_body(city))
        for _ in range(2):
            self.check(target)
        return self.weather_calls(city) <= 1


@contextlib.contextmanager
def running(stack: Stack) -> Iterator[Stack]:
    try:
        yield stack.start()
    finally:
        stack.stop()
