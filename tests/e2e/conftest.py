"""The three services as real uvicorn processes on free loopback ports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.processes import ServiceProcess, free_port, running

SDL = (Path(__file__).resolve().parents[2] / "schema" / "gateway.graphql").read_text()


@dataclass
class Stack:
    weather: ServiceProcess
    jokes: ServiceProcess
    gateway: ServiceProcess


def start_stack(tmp_path: Path) -> Iterator[Stack]:
    """Weather and joke services first, then the gateway pointed at them."""
    with (
        running("weather_service") as weather,
        running("joke_service", env={"JOKE_DB_PATH": str(tmp_path / "jokes.sqlite3")}) as jokes,
        running("gateway", env={"WEATHER_URL": weather.url, "JOKE_URL": jokes.url}) as gateway,
    ):
        yield Stack(weather, jokes, gateway)


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """One healthy stack shared by the read-only tests of a module."""
    yield from start_stack(tmp_path_factory.mktemp("stack"))


@pytest.fixture
def own_stack(tmp_path: Path) -> Iterator[Stack]:
    """A stack of the test's own, for tests that stop one of its services."""
    yield from start_stack(tmp_path)


def dead_url() -> str:
    """A loopback URL where nothing listens (a stopped service)."""
    return f"http://127.0.0.1:{free_port()}"
