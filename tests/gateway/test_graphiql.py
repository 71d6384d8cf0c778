"""The GraphiQL page: its files from /static/vendor, a nonce per response, a CDN fallback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from strawberry.http.ides import get_graphql_ide_html

from gateway.assets import CDN, GRAPHIQL_ASSETS, sri
from gateway.config import GatewaySettings
from gateway.graphql.schema import build_schema
from gateway.pages.graphiql import OfflineGraphQLRouter, PageMismatch, localize
from tests.browser.markup import csp_directives, elements, inline_code
from tests.browser.prerequisites import require_graphiql_assets

HTML = {"Accept": "text/html"}


async def graphiql_page(client: httpx.AsyncClient) -> httpx.Response:
    response = await client.get("/graphql", headers=HTML)
    assert response.status_code == 200, response.text
    return response


def loaded_urls(html: str) -> list[str]:
    return [
        str(e.attrs.get("src") or e.attrs.get("href"))
        for e in elements(html)
        if (e.tag == "script" and "src" in e.attrs)
        or (e.tag == "link" and e.attrs.get("integrity"))
    ]


@pytest.fixture
async def cdn_gateway(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A GraphQL router whose vendor directory is empty (assets never fetched)."""
    app = FastAPI()
    app.include_router(
        OfflineGraphQLRouter(build_schema(GatewaySettings()), vendor_dir=tmp_path),
        prefix="/graphql",
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
        yield client


async def test_page_loads_every_file_from_the_gateway(gateway: httpx.AsyncClient) -> None:
    """With the assets installed, all seven scripts and styles come from /static/vendor."""
    require_graphiql_assets()
    html = (await graphiql_page(gateway)).text
    assert sorted(loaded_urls(html)) == sorted(
        f"/static/vendor/{asset.name}" for asset in GRAPHIQL_ASSETS
    )
    assert CDN not in html


async def test_page_keeps_the_integrity_hashes(gateway: httpx.AsyncClient) -> None:
    """Each local file keeps Strawberry's SRI hash, so the browser still checks its bytes."""
    require_graphiql_assets()
    html = (await graphiql_page(gateway)).text
    pinned = {f"/static/vendor/{a.name}": a.integrity for a in GRAPHIQL_ASSETS}
    for element in elements(html):
        url = element.attrs.get("src") or element.attrs.get("href")
        if url in pinned:
            assert element.attrs.get("integrity") == pinned[url]


async def test_vendored_files_are_served_with_their_pinned_bytes(
    gateway: httpx.AsyncClient,
) -> None:
    """GET /static/vendor/... returns the verified file, cacheable forever."""
    require_graphiql_assets()
    for asset in GRAPHIQL_ASSETS:
        response = await gateway.get(f"/static/vendor/{asset.name}")
        assert response.status_code == 200
        assert sri(response.content) == asset.integrity
        assert "immutable" in response.headers["cache-control"]


async def test_csp_allows_only_own_origin_and_the_nonce(gateway: httpx.AsyncClient) -> None:
    """The page's policy names no CDN and allows inline code by nonce, never unsafe-inline."""
    require_graphiql_assets()
    csp = csp_directives((await graphiql_page(gateway)).headers["content-security-policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"][0] == "'self'"
    assert csp["script-src"][1].startswith("'nonce-")
    assert len(csp["script-src"]) == 2
    assert all("unsafe" not in source for sources in csp.values() for source in sources)
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"]


async def test_every_inline_script_and_style_carries_the_nonce(
    gateway: httpx.AsyncClient,
) -> None:
    """The nonce in the header is on each inline block, so the page runs under its policy."""
    response = await graphiql_page(gateway)
    nonce = csp_directives(response.headers["content-security-policy"])["script-src"][-1]
    blocks = inline_code(response.text)
    assert blocks, "Strawberry's page has inline code"
    assert all(f"'nonce-{block.attrs.get('nonce')}'" == nonce for block in blocks)


async def test_nonce_changes_with_every_response(gateway: httpx.AsyncClient) -> None:
    """Two loads of the page get two different nonces."""
    first = (await graphiql_page(gateway)).headers["content-security-policy"]
    second = (await graphiql_page(gateway)).headers["content-security-policy"]
    assert first != second


async def test_missing_assets_fall_back_to_the_cdn_page(
    cdn_gateway: httpx.AsyncClient,
) -> None:
    """Without the files, the page is Strawberry's, loading from unpkg, which the CSP allows."""
    response = await graphiql_page(cdn_gateway)
    assert all(url.startswith(f"{CDN}/") for url in loaded_urls(response.text))
    csp = csp_directives(response.headers["content-security-policy"])
    assert CDN in csp["script-src"]
    assert CDN in csp["style-src"]


def test_missing_assets_are_logged_with_the_fix(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Building the router without the files warns once, naming the command that fixes it."""
    with caplog.at_level(logging.WARNING, logger="gateway.pages.graphiql"):
        OfflineGraphQLRouter(build_schema(GatewaySettings()), vendor_dir=tmp_path)
    [record] = caplog.records
    assert "graphiql.assets.missing" in record.getMessage()
    assert "python -m gateway.assets" in record.getMessage()


def test_disabled_graphiql_checks_no_assets(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With GraphiQL off (production), missing assets are no news worth a warning."""
    with caplog.at_level(logging.WARNING, logger="gateway.pages.graphiql"):
        OfflineGraphQLRouter(build_schema(GatewaySettings()), vendor_dir=tmp_path, graphql_ide=None)
    assert caplog.records == []


@pytest.mark.parametrize("settings", [GatewaySettings(graphiql=False)])
async def test_disabled_graphiql_serves_no_page(gateway: httpx.AsyncClient) -> None:
    """GATEWAY_GRAPHIQL=false: a browser asking for /graphql gets no IDE."""
    response = await gateway.get("/graphql", headers=HTML)
    assert response.status_code >= 400
    assert "graphiql" not in response.text.lower()


def test_a_page_loading_unpinned_files_is_refused() -> None:
    """If Strawberry's page changes versions, localize refuses rather than half-rewrite it."""
    html = get_graphql_ide_html("graphiql").replace("react@18.2.0", "react@18.3.1")
    with pytest.raises(PageMismatch, match=r"react@18\.2\.0"):
        localize(html)


def test_a_page_with_an_extra_cdn_file_is_refused() -> None:
    """A CDN file beyond the pinned seven means the page would not work offline."""
    extra = '<script src="https://unpkg.com/left-pad@1.3.0/index.js"></script></body>'
    html = get_graphql_ide_html("graphiql").replace("</body>", extra)
    with pytest.raises(PageMismatch, match="not pinned"):
        localize(html)
