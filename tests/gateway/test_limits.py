"""Document limits at their boundaries: the last allowed shape passes, one more is refused
before any upstream is called."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from graphql.language import Lexer, Source, TokenKind

from gateway.config import GatewaySettings
from tests.gateway.conftest import graphql, serve
from tests.support.fake_upstreams import FakeUpstream

JOKE = 'fullinfo(city: "Rodez") { joke }'


@pytest.fixture
async def gateway(weather: FakeUpstream, joke: FakeUpstream) -> AsyncIterator[httpx.AsyncClient]:
    """Development mode (introspection on, to build deep documents), retries off."""
    async with serve(GatewaySettings(upstream_retries=0), weather, joke) as client:
        yield client


def token_count(document: str) -> int:
    lexer = Lexer(Source(document))
    count = 0
    while lexer.advance().kind is not TokenKind.EOF:
        count += 1
    return count


def refused(body: dict[str, object], *, code: str | None = None) -> str:
    errors = body.get("errors")
    assert isinstance(errors, list)
    assert errors, "expected the document to be refused"
    assert body.get("data") is None
    if code is not None:
        assert errors[0]["extensions"]["code"] == code
    return str(errors[0]["message"])


async def test_depth_at_the_limit_passes_one_more_is_refused(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """With max depth N, depth N is answered and depth N+1 refused before any upstream call.

    The schema's deepest document is depth 2 (fullinfo → weather → city), so the default
    of 5 only bites when the schema grows; the rule itself is proven here at N = 1.
    """
    settings = GatewaySettings(upstream_retries=0, max_query_depth=1)
    async with serve(settings, weather, joke) as client:
        ok = await graphql(client, '{ fullinfo(city: "Rodez") { city } }')
        body = await graphql(client, '{ fullinfo(city: "Rodez") { weather { city } joke } }')
    assert "errors" not in ok
    assert "exceeds maximum operation depth of 1" in refused(body)
    assert weather.calls == joke.calls == []


async def test_fifteen_aliases_pass_sixteen_are_refused(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """15 aliases are fine; the 16th refuses the document with no upstream call."""
    aliases = " ".join(f"t{i}: __typename" for i in range(14))
    ok = await graphql(gateway, f"{{ j: {JOKE} {aliases} }}")
    assert "errors" not in ok
    joke.calls.clear()
    body = await graphql(gateway, f"{{ j: {JOKE} {aliases} t99: __typename }}")
    assert "16 aliases found. Allowed: 15" in refused(body)
    assert joke.calls == []


async def test_two_upstream_root_fields_pass_three_are_refused(
    gateway: httpx.AsyncClient, weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """Two fullinfo/weather/joke fields per operation are fine; a third is amplification."""
    ok = await graphql(gateway, f'{{ a: {JOKE} b: weather(city: "Paris") {{ city }} }}')
    assert "errors" not in ok
    weather.calls.clear()
    joke.calls.clear()
    body = await graphql(
        gateway, f"{{ a: {JOKE} b: {JOKE} ...More }} fragment More on Query {{ joke {{ text }} }}"
    )
    refused(body, code="QUERY_TOO_COMPLEX")
    assert weather.calls == joke.calls == []


async def test_five_directives_pass_six_are_refused_with_one_error(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """Up to 5 directives are fine; more get ONE error, whatever they are."""
    five = " ".join(f"t{i}: __typename @include(if: true)" for i in range(5))
    assert "errors" not in await graphql(gateway, f"{{ {five} }}")
    body = await graphql(gateway, f"{{ {JOKE} __typename{' @aa' * 10} }}")
    refused(body, code="QUERY_TOO_COMPLEX")
    assert len(body["errors"]) == 1
    assert joke.calls == []


async def test_hundred_fields_pass_hundred_and_one_are_refused(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """100 field selections are answered; 101 are refused before execution."""
    assert "errors" not in await graphql(gateway, "{" + " __typename" * 100 + " }")
    body = await graphql(gateway, "{ " + JOKE + " __typename" * 99 + " }")
    assert "101 field selections found. Allowed: 100" in refused(body, code="QUERY_TOO_COMPLEX")
    assert joke.calls == []


async def test_thousand_tokens_parse_thousand_and_one_do_not(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """The parser stops at 1000 tokens, before validation or any upstream call."""

    def document(tokens: int) -> str:
        # Pad a list default with "1" tokens up to exactly ``tokens`` (commas don't count).
        base = f"query Q($p: [Int] = []) {{ {JOKE} }}"
        padding = ", ".join(["1"] * (tokens - token_count(base)))
        text = base.replace("[]", f"[{padding}]")
        assert token_count(text) == tokens
        return text

    ok = await graphql(gateway, document(1000))
    assert "tokens" not in str(ok)
    body = await graphql(gateway, document(1001))
    assert "more than 1000 tokens" in refused(body, code="GRAPHQL_PARSE_FAILED")
    assert joke.calls == []


async def test_batching_is_off(gateway: httpx.AsyncClient, joke: FakeUpstream) -> None:
    """A JSON array of operations is refused as a whole."""
    response = await gateway.post("/graphql", json=[{"query": f"{{ {JOKE} }}"}] * 10)
    assert response.status_code == 400
    assert joke.calls == []
