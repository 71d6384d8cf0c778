"""The wall display in a real browser: content, rotation, and what it does when parts fail."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest

from gateway.pages.display import DISPLAY_QUERY
from tests.browser.conftest import PHONE, WALL, Tab
from tests.e2e.conftest import Stack

if TYPE_CHECKING:
    from playwright.sync_api import Route, ViewportSize

pytestmark = [pytest.mark.e2e, pytest.mark.browser]

TEMPERATURE = re.compile(r"^-?\d+°C$")


def open_display(tab: Tab, stack: Stack, query: str = "city=Rodez", *, live: bool = False) -> None:
    """Open the page and wait for its first update. Unless ``live``, its WebSocket is
    refused, so the page polls (one POST per refresh, which these tests intercept)."""
    if not live:
        tab.page.route_web_socket("**/graphql", lambda socket: socket.close())
    tab.page.goto(f"{stack.gateway.url}/display?{query}")
    wait_for_update(tab, 1)


def wait_for_update(tab: Tab, number: int) -> None:
    """Wait until the page has finished its ``number``-th refresh."""
    tab.page.locator(f'body[data-updates="{number}"]').wait_for(state="attached")


def text(tab: Tab, element_id: str) -> str:
    return (tab.page.locator(f"#{element_id}").text_content() or "").strip()


@pytest.mark.parametrize("viewport", [WALL, PHONE], ids=["1920x1080", "390x844"])
def test_display_shows_temperature_condition_and_joke(
    tab: Tab, stack: Stack, viewport: ViewportSize
) -> None:
    """Rodez's temperature, condition and a joke are on screen, with no notice."""
    tab.page.set_viewport_size(viewport)
    open_display(tab, stack, "city=Rodez&city=Honolulu&city=Tombouctou")
    assert text(tab, "city") == "Rodez"
    assert TEMPERATURE.match(text(tab, "temperature"))
    assert text(tab, "condition")
    assert tab.page.locator("#joke").is_visible()
    assert len(text(tab, "joke")) > 10
    assert text(tab, "notice") == ""
    assert text(tab, "freshness").startswith("Mis à jour à")
    tab.screenshot(f"display-{viewport['width']}x{viewport['height']}")
    assert tab.csp_violations == []
    assert tab.page_errors == []


def test_display_talks_only_to_its_gateway(tab: Tab, stack: Stack) -> None:
    """Every request stays on the gateway's origin; the data comes from one JSON POST."""
    open_display(tab, stack)
    assert tab.foreign_requests(stack.gateway.url) == []
    [post] = tab.posts
    assert post.url == f"{stack.gateway.url}/graphql"
    assert post.headers["content-type"] == "application/json"
    body = json.loads(post.post_data or "")
    assert body["query"] == DISPLAY_QUERY
    assert body["variables"] == {"city": "Rodez", "lang": "FR"}


def test_display_rotates_cities_one_request_each(tab: Tab, stack: Stack) -> None:
    """At each refresh the next city is asked for, alone, and shown."""
    tab.page.clock.install()
    open_display(tab, stack, "city=Rodez&city=Tombouctou&refresh=10")
    tab.page.clock.fast_forward("00:10")
    wait_for_update(tab, 2)
    assert text(tab, "city") == "Tombouctou"
    cities = [json.loads(post.post_data or "")["variables"]["city"] for post in tab.posts]
    assert cities == ["Rodez", "Tombouctou"]


def test_display_keeps_the_weather_when_the_joke_service_is_down(
    tab: Tab, own_jokes: Stack
) -> None:
    """With the joke service stopped, the weather stays and a discreet notice says why."""
    own_jokes.jokes.stop()
    open_display(tab, own_jokes)
    assert TEMPERATURE.match(text(tab, "temperature"))
    assert not tab.page.locator("#joke").is_visible()
    assert text(tab, "notice") == "Blague momentanément indisponible"
    tab.screenshot("display-joke-service-down")


def test_display_keeps_the_last_content_when_the_gateway_is_gone(
    tab: Tab, own_gateway: Stack
) -> None:
    """When the gateway stops answering, the last reading stays on screen with its age."""
    tab.page.clock.install()
    open_display(tab, own_gateway)
    temperature = text(tab, "temperature")
    own_gateway.gateway.stop()
    tab.page.clock.fast_forward("03:00")
    wait_for_update(tab, 2)
    assert text(tab, "temperature") == temperature
    assert text(tab, "notice").startswith("Passerelle injoignable")
    assert text(tab, "freshness") == "Données d’il y a 3 min"
    tab.screenshot("display-gateway-unreachable")


def test_display_tells_the_age_the_gateway_reports(tab: Tab, stack: Stack) -> None:
    """A stale answer (extensions.sources.weather.ageSeconds) shows how old the data is."""

    def stale(route: Route) -> None:
        response = route.fetch()
        answer = response.json()
        answer["extensions"] = {
            "sources": {"weather": {"status": "ok", "cache": "stale", "ageSeconds": 720}}
        }
        route.fulfill(response=response, json=answer)

    tab.page.route("**/graphql", stale)
    open_display(tab, stack, "city=Rodez&lang=en")
    assert text(tab, "freshness") == "Data 12 min old"
    assert tab.page.locator("html").get_attribute("lang") == "en"


def test_display_shows_stale_weather_with_its_age_not_as_a_failure(tab: Tab, stack: Stack) -> None:
    """A STALE_DATA error at fullinfo.weather shows the weather, its age, and no notice."""

    def stale(route: Route) -> None:
        response = route.fetch()
        answer = response.json()
        answer["errors"] = [
            {
                "message": "The weather is from the gateway's cache.",
                "path": ["fullinfo", "weather"],
                "extensions": {"code": "STALE_DATA", "ageSeconds": 300},
            }
        ]
        route.fulfill(response=response, json=answer)

    tab.page.route("**/graphql", stale)
    open_display(tab, stack)
    assert TEMPERATURE.match(text(tab, "temperature"))
    assert text(tab, "notice") == ""
    assert text(tab, "freshness") == "Données d’il y a 5 min"


def test_display_names_an_unknown_city(tab: Tab, stack: Stack) -> None:
    """A city the weather service does not know is named in the notice; the joke stays."""
    open_display(tab, stack, "city=Atlantide")
    assert text(tab, "notice") == "Ville inconnue : Atlantide"
    assert tab.page.locator("#joke").is_visible()


def test_display_says_so_when_both_services_fail(tab: Tab, stack: Stack) -> None:
    """An answer with neither weather nor joke keeps the city and says services are down."""

    def both_failed(route: Route) -> None:
        errors = [
            {"message": "down", "path": ["fullinfo", part], "extensions": {"code": code}}
            for part, code in (("weather", "UPSTREAM_TIMEOUT"), ("joke", "UPSTREAM_UNAVAILABLE"))
        ]
        route.fulfill(
            json={"data": {"fullinfo": {"weather": None, "joke": None}}, "errors": errors}
        )

    tab.page.route("**/graphql", both_failed)
    open_display(tab, stack)
    assert text(tab, "city") == "Rodez"
    assert text(tab, "notice") == "Services momentanément indisponibles"
    assert text(tab, "weather-unavailable") == "Pas de météo pour le moment"
