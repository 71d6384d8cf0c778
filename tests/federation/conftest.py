"""A real supergraph on loopback: stub upstreams, Canaduck, a sites subgraph, Hive Gateway.

Everything is module-scoped: Hive Gateway takes 3-5 s to start, so one router serves all
the tests of a module. The supergraph is composed at test time from what the two running
subgraphs answer to ``_service { sdl }``, with their real URLs.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.node import node_tool, require_node
from tests.support.processes import (
    LOOPBACK,
    ServiceProcess,
    StubProcess,
    free_port,
    gateway_env,
    running,
    terminate,
)
from tools.supergraph import Subgraph, compose

ROUTER_START_TIMEOUT_SECONDS = 60.0
ROUTER_STOP_TIMEOUT_SECONDS = 10.0


@dataclass
class Router:
    """A ``hive-gateway supergraph <file>`` process."""

    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}/graphql"

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Supergraph:
    weather: StubProcess
    joke: StubProcess
    canaduck: ServiceProcess
    sites: ServiceProcess
    router: Router


def service_sdl(url: str) -> str:
    """What a subgraph answers to ``_service { sdl }`` (what a router composes)."""
    response = httpx.post(url, json={"query": "{ _service { sdl } }"}, timeout=10.0)
    response.raise_for_status()
    sdl: str = response.json()["data"]["_service"]["sdl"]
    return sdl


@pytest.fixture(scope="module")
def canaduck(weather_stub: StubProcess, joke_stub: StubProcess) -> Iterator[ServiceProcess]:
    """The gateway as deployed (production, subgraph on), weather cache and retries off so
    every weather call of a query shows on the stub."""
    env = gateway_env(weather_stub, joke_stub, subgraph="true", upstream_retries=0)
    env |= {"CANADUCK_ENV": "production", "GATEWAY_CACHE_WEATHER_TTL_SECONDS": "0"}
    with running("gateway", env=env) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def sites() -> Iterator[ServiceProcess]:
    with running("tests.federation.sites") as process:
        yield process


def start_router(supergraph: Path, directory: Path) -> Router:
    """Hive Gateway on a free loopback port, once its health check answers (bounded)."""
    port = free_port()
    log = directory / "hive-gateway.log"
    command = [str(node_tool("hive-gateway")), "supergraph", str(supergraph)]
    command += ["--host", LOOPBACK, "--port", str(port), "--fork", "1"]
    with log.open("wb") as sink:
        # cwd: an empty directory, so no gateway.config.* of the repo is picked up.
        process = subprocess.Popen(
            command, stdout=sink, stderr=subprocess.STDOUT, cwd=directory, env=os.environ.copy()
        )
    router = Router(port, process, log)
    deadline = time.monotonic() + ROUTER_START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"hive-gateway exited early:\n{router.output()}")
        try:
            health = httpx.get(f"http://{LOOPBACK}:{port}/healthcheck", timeout=1.0)
            if health.status_code == 200:
                return router
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    stop_router(router)
    raise RuntimeError(f"hive-gateway not up after {ROUTER_START_TIMEOUT_SECONDS}s")


def stop_router(router: Router) -> None:
    """SIGTERM, then SIGKILL if it does not leave in time."""
    terminate(router.process, ROUTER_STOP_TIMEOUT_SECONDS)


@pytest.fixture(scope="module")
def hive_gateway() -> None:
    """Node and Hive Gateway are installed: skip at once without them (fail in CI)."""
    require_node("hive-gateway")


@pytest.fixture(scope="module")
def supergraph(
    hive_gateway: None,
    weather_stub: StubProcess,
    joke_stub: StubProcess,
    canaduck: ServiceProcess,
    sites: ServiceProcess,
) -> Iterator[Supergraph]:
    """The router over Canaduck and the sites subgraph."""
    with tempfile.TemporaryDirectory(prefix="supergraph-") as tmp:
        directory = Path(tmp)
        subgraphs = []
        for name, url in (
            ("canaduck", f"{canaduck.url}/subgraph/graphql"),
            ("sites", f"{sites.url}/graphql"),
        ):
            sdl = directory / f"{name}.graphql"
            sdl.write_text(service_sdl(url), encoding="utf-8")
            subgraphs.append(Subgraph(name, url, sdl))
        path = directory / "supergraph.graphql"
        path.write_text(compose(tuple(subgraphs)), encoding="utf-8")
        router = start_router(path, directory)
        try:
            yield Supergraph(weather_stub, joke_stub, canaduck, sites, router)
        finally:
            stop_router(router)
