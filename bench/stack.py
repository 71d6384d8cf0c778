"""The processes under test and the requests sent to them.

Two stubs (weather, joke), the gateway twice (cache off, cache on: the cache settings are
the contract ``GATEWAY_CACHE_WEATHER_TTL_SECONDS`` / ``GATEWAY_CACHE_JOKE_TTL_SECONDS``, 0
disables; a gateway without them ignores them), and the naive aggregator once per
concurrency it is measured at (gunicorn threads = clients).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TypedDict

import httpx

from bench import procs

WEATHER_FIELDS = (
    "city country latitude longitude timezone temperature condition conditionCode humidity "
    "windKph observedAt source"
)
# Every weather field, as the naive aggregator returns them all: equal work, fair ratio.
FULLINFO = "{ fullinfo(city: %s) { city weather { %s } joke } }"
TRIVIAL = "{ __typename }"
CACHE_ON = {"GATEWAY_CACHE_WEATHER_TTL_SECONDS": "60", "GATEWAY_CACHE_JOKE_TTL_SECONDS": "60"}
CACHE_OFF = {"GATEWAY_CACHE_WEATHER_TTL_SECONDS": "0", "GATEWAY_CACHE_JOKE_TTL_SECONDS": "0"}


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
}


def naive_target(threads: int) -> Target:
    return Target(f"naive-t{threads}", "/fullinfo?city=Rodez")


@dataclass
class Stack:
    """Everything started by :meth:`start`; :meth:`stop` stops it all, in any state."""

    delay_ms: float
    transport: str = "httpx"
    alt_transport: str | None = None
    naive_threads: Iterable[int] = (1,)  # one naive aggregator per client count
    gateway_settings: dict[str, str] = field(default_factory=dict)
    servers: dict[str, procs.Process] = field(default_factory=dict)
    delays: tuple[float, float] = (-1.0, -1.0)

    def start(self) -> Stack:
        try:
            weather = self._add(procs.stub("weather", self.delay_ms))
            joke = self._add(procs.stub("joke", self.delay_ms))
            self.delays = (self.delay_ms, self.delay_ms)
            gateways = [
                ("gateway", self.transport, CACHE_OFF),
                ("cached", self.transport, CACHE_ON),
            ]
            if self.alt_transport:
                gateways.append(("alt", self.alt_transport, CACHE_OFF))
            for name, transport, cache in gateways:
                settings = {**cache, **self.gateway_settings}
                server = procs.gateway(
                    weather, joke, transport=transport, settings=settings, name=name
                )
                self._add(server)
            for threads in sorted(set(self.naive_threads)):
                self._add(procs.naive(weather, joke, threads))
        except BaseException:
            self.stop()
            raise
        return self

    def _add(self, server: procs.Process) -> procs.Process:
        self.servers[server.name] = server  # registered first, so stop() reaches it
        return server.start()

    def stop(self) -> None:
        for server in reversed(self.servers.values()):
            with contextlib.suppress(Exception):
                server.stop()

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
