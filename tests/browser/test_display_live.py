"""The wall display follows its city live: pushed changes, no reload, polling as a fallback."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.browser.conftest import Tab
from tests.browser.test_display_page import open_display, text, wait_for_update
from tests.e2e.conftest import Stack
from tests.e2e.live import live_gateway
from tests.support.processes import StubProcess, running_stub

pytestmark = [pytest.mark.e2e, pytest.mark.browser]


@dataclass
class LiveStack:
    weather: StubProcess
    stack: Stack


@pytest.fixture(scope="module")
def live_stack() -> Iterator[LiveStack]:
    """Stub upstreams (the weather's temperature switchable) behind a gateway polling every
    second for its subscribers."""
    with (
        running_stub("weather") as weather,
        running_stub("joke") as jokes,
        live_gateway(weather, jokes) as gateway,
    ):
        yield LiveStack(weather, Stack(weather, jokes, gateway))


@pytest.fixture(autouse=True)
def usual_weather(live_stack: LiveStack) -> Iterator[None]:
    live_stack.weather.reset()
    yield
    live_stack.weather.reset()


def test_display_updates_without_reloading_when_the_weather_changes(
    tab: Tab, live_stack: LiveStack
) -> None:
    """The page shows "En direct", and a new temperature appears with no reload and no POST."""
    open_display(tab, live_stack.stack, "city=Rodez&refresh=600", live=True)
    assert text(tab, "temperature") == "21°C"
    assert text(tab, "mode") == "En direct"
    tab.page.evaluate("window.loadedOnce = true")  # gone if the page reloads
    live_stack.weather.set_mode("healthy", temperature=27.4)
    wait_for_update(tab, 2)
    assert text(tab, "temperature") == "27°C"
    assert tab.page.evaluate("window.loadedOnce") is True
    assert tab.posts == []
    assert tab.csp_violations == []
    assert tab.page_errors == []
    tab.screenshot("display-live")


def test_display_polls_when_the_websocket_fails(tab: Tab, live_stack: LiveStack) -> None:
    """With its WebSocket refused, the page says it polls and asks over POST instead."""
    open_display(tab, live_stack.stack, "city=Rodez")
    assert text(tab, "temperature") == "21°C"
    assert text(tab, "mode") == "Actualisation périodique"
    assert [post.url for post in tab.posts] == [f"{live_stack.stack.gateway.url}/graphql"]
