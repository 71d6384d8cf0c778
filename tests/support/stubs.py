"""The switchable upstream stubs as fixtures, shared by every package that starts real
processes (registered in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.processes import StubProcess, running_stub


@pytest.fixture(scope="module")
def weather_stub() -> Iterator[StubProcess]:
    """A switchable stub of the weather service (tests.support.stub_upstream)."""
    with running_stub("weather") as stub:
        yield stub


@pytest.fixture(scope="module")
def joke_stub() -> Iterator[StubProcess]:
    """A switchable stub of the joke service."""
    with running_stub("joke") as stub:
        yield stub
