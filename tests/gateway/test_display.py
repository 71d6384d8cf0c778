"""GET /display: a self-contained wall-screen page, checked input, strict CSP, one query."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphql import OperationDefinitionNode, build_schema, parse, validate

from gateway.config import GatewaySettings
from gateway.pages.display import DISPLAY_QUERY, MAX_CITIES
from tests.browser.markup import csp_directives, elements, inline_code
from tests.gateway.conftest import graphql
from tests.support.fake_upstreams import DUCK_JOKE, FakeUpstream

SDL = (Path(__file__).resolve().parents[2] / "schema" / "gateway.graphql").read_text()


async def page(client: httpx.AsyncClient, **params: Any) -> httpx.Response:
    response = await client.get("/display", params={"city": "Rodez", **params})
    assert response.status_code == 200, response.text
    return response


def body_attrs(html: str) -> dict[str, str | None]:
    return next(e.attrs for e in elements(html) if e.tag == "body")


async def test_page_is_html_for_a_browser(gateway: httpx.AsyncClient) -> None:
    """/display?city=Rodez answers an HTML page titled with the city."""
    response = await page(gateway)
    assert response.headers["content-type"].startswith("text/html")
    assert "<title>Canaduck · Rodez</title>" in response.text


async def test_page_has_no_inline_code(gateway: httpx.AsyncClient) -> None:
    """No inline script, style element, style attribute or event handler: CSP needs none."""
    html = (await page(gateway)).text
    assert inline_code(html) == []
    for element in elements(html):
        assert "style" not in element.attrs, element
        assert not [name for name in element.attrs if name.startswith("on")], element


async def test_csp_is_own_origin_only(gateway: httpx.AsyncClient) -> None:
    """Scripts, styles and requests may only go to the gateway itself; no framing."""
    csp = csp_directives((await page(gateway)).headers["content-security-policy"])
    for directive in ("default-src", "script-src", "style-src", "connect-src"):
        assert csp[directive] == ["'self'"], directive
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["base-uri"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]


async def test_every_file_the_page_loads_is_served_by_the_gateway(
    gateway: httpx.AsyncClient,
) -> None:
    """The stylesheet and script are same-origin paths that answer 200 with their type."""
    html = (await page(gateway)).text
    urls = [
        str(e.attrs.get("src") or e.attrs.get("href"))
        for e in elements(html)
        if e.tag == "script" or (e.tag == "link" and e.attrs.get("rel") == "stylesheet")
    ]
    assert sorted(urls) == ["/static/display/display.css", "/static/display/display.js"]
    for url in urls:
        response = await gateway.get(url)
        assert response.status_code == 200
        assert response.headers["content-type"].split(";")[0] in ("text/css", "text/javascript")
        assert response.headers["cache-control"] == "no-cache"


async def test_lang_attribute_follows_the_lang_parameter(gateway: httpx.AsyncClient) -> None:
    """lang=en gives <html lang="en">; French is the default."""
    assert '<html lang="fr"' in (await page(gateway)).text
    assert '<html lang="en"' in (await page(gateway, lang="en")).text


async def test_settings_reach_the_script_through_data_attributes(
    gateway: httpx.AsyncClient,
) -> None:
    """Cities (normalised, duplicates dropped), refresh and the query are on <body>."""
    response = await gateway.get(
        "/display", params=[("city", " rodez "), ("city", "Honolulu"), ("city", "Honolulu")]
    )
    attrs = body_attrs(response.text)
    assert json.loads(str(attrs["data-cities"])) == ["rodez", "Honolulu"]
    assert attrs["data-refresh-seconds"] == "60"
    assert attrs["data-endpoint"] == "/graphql"
    assert attrs["data-query"] == DISPLAY_QUERY


async def test_city_names_are_escaped_in_the_page(gateway: httpx.AsyncClient) -> None:
    """A city with a quote (L'Aquila) cannot break out of its attribute."""
    html = (await page(gateway, city="L'Aquila")).text
    assert "&#x27;" in html
    assert json.loads(str(body_attrs(html)["data-cities"])) == ["L'Aquila"]


@pytest.mark.parametrize(
    "params",
    [
        {},
        {"city": "<script>alert(1)</script>"},
        {"city": "Rodez", "refresh": "5"},
        {"city": "Rodez", "refresh": "3601"},
        {"city": "Rodez", "lang": "de"},
        {"city": [f"City {n}" for n in range(MAX_CITIES + 1)]},
    ],
    ids=["no-city", "hostile-city", "refresh-too-fast", "refresh-too-slow", "lang", "too-many"],
)
async def test_bad_settings_are_a_422_problem(
    gateway: httpx.AsyncClient, params: dict[str, Any]
) -> None:
    """A mistyped display URL gets a clear 422 problem, never a page that cannot work."""
    response = await gateway.get("/display", params=params)
    assert response.status_code == 422
    assert response.json()["code"] == "INVALID_INPUT"


def test_display_query_is_valid_against_the_published_schema() -> None:
    """The page's query validates against schema/gateway.graphql."""
    assert validate(build_schema(SDL), parse(DISPLAY_QUERY)) == []


def test_display_query_asks_for_one_city_per_request() -> None:
    """One root field, no aliases: the page rotates cities instead of fanning out per city."""
    [operation] = parse(DISPLAY_QUERY).definitions
    assert isinstance(operation, OperationDefinitionNode)
    [root] = operation.selection_set.selections
    assert getattr(root, "alias", None) is None


async def test_display_query_returns_what_the_page_shows(gateway: httpx.AsyncClient) -> None:
    """City, temperature, condition and joke come back with no error."""
    body = await graphql(gateway, DISPLAY_QUERY, {"city": "Rodez", "lang": "FR"})
    info = body["data"]["fullinfo"]
    assert "errors" not in body
    assert info["weather"]["temperature"] == 21.2
    assert info["weather"]["condition"] == "nuageux"
    assert info["joke"] == DUCK_JOKE


async def test_display_query_keeps_the_weather_when_jokes_fail(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """A dead joke service nulls only the joke, with an error at fullinfo.joke."""
    joke.fault = "dead"
    body = await graphql(gateway, DISPLAY_QUERY, {"city": "Rodez", "lang": "FR"})
    assert body["data"]["fullinfo"]["weather"]["temperature"] == 21.2
    assert body["data"]["fullinfo"]["joke"] is None
    assert [error["path"] for error in body["errors"]] == [["fullinfo", "joke"]]


@pytest.mark.parametrize("settings", [GatewaySettings(env="production")])
async def test_display_query_works_in_production(gateway: httpx.AsyncClient) -> None:
    """Production's limits (no GET, no introspection, few root fields) leave the page working."""
    response = await gateway.get("/display", params={"city": "Rodez"})
    assert response.status_code == 200
    body = await graphql(gateway, DISPLAY_QUERY, {"city": "Rodez", "lang": "FR"})
    assert body["data"]["fullinfo"]["weather"]["temperature"] == 21.2
