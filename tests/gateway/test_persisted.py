"""Documents by hash: Apollo's APQ sequence, and an allow-list of trusted documents."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config import GatewaySettings
from gateway.graphql.persisted import ManifestError, load_manifest
from tests.gateway.conftest import serve
from tests.support.fake_upstreams import FakeUpstream

QUERY = '{ fullinfo(city: "Rodez") { city joke } }'
OTHER = "{ joke { text } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def persisted(digest: str) -> dict[str, Any]:
    return {"persistedQuery": {"version": 1, "sha256Hash": digest}}


async def apollo_link(client: httpx.AsyncClient, query: str) -> list[dict[str, Any]]:
    """What Apollo's persisted-queries link does: the hash alone, then hash + query when
    the server does not know it. Returns every answer it got."""
    answers = [(await client.post("/graphql", json={"extensions": persisted(sha(query))})).json()]
    codes = [e["extensions"]["code"] for e in answers[0].get("errors") or ()]
    if "PERSISTED_QUERY_NOT_FOUND" in codes:
        body = {"query": query, "extensions": persisted(sha(query))}
        answers.append((await client.post("/graphql", json=body)).json())
    return answers


async def test_apq_registers_on_the_second_request_then_runs_by_hash(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """Unknown hash → PERSISTED_QUERY_NOT_FOUND; hash + query runs and registers; then the
    hash alone is enough."""
    first = await apollo_link(gateway, QUERY)
    assert [a.get("errors", [{}])[0].get("extensions", {}).get("code") for a in first] == [
        "PERSISTED_QUERY_NOT_FOUND",
        None,
    ]
    assert first[1]["data"]["fullinfo"]["city"] == "Rodez"
    again = await apollo_link(gateway, QUERY)
    assert len(again) == 1
    assert again[0]["data"] == first[1]["data"]
    assert len(joke.calls) == 2


async def test_apq_over_get_with_the_preflight_header(gateway: httpx.AsyncClient) -> None:
    """A registered hash runs over GET (where GET queries are on), as CDN-friendly APQ does."""
    await apollo_link(gateway, OTHER)
    response = await gateway.get(
        "/graphql",
        params={"extensions": json.dumps(persisted(sha(OTHER)))},
        headers={"X-Canaduck-Preflight": "1"},
    )
    assert response.status_code == 200
    assert "joke" in response.json()["data"]


async def test_a_hash_that_is_not_the_querys_is_refused(gateway: httpx.AsyncClient) -> None:
    """Registering a document under another document's hash fails, and nothing runs."""
    body = {"query": QUERY, "extensions": persisted(sha(OTHER))}
    answer = (await gateway.post("/graphql", json=body)).json()
    assert answer["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_HASH_MISMATCH"
    assert "data" not in answer or answer["data"] is None


async def test_an_unknown_persisted_query_version_is_refused(gateway: httpx.AsyncClient) -> None:
    """Only version 1 of the protocol exists."""
    body = {"extensions": {"persistedQuery": {"version": 2, "sha256Hash": sha(QUERY)}}}
    answer = (await gateway.post("/graphql", json=body)).json()
    assert answer["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_SUPPORTED"


@pytest.fixture
def manifest(tmp_path: Path) -> Path:
    path = tmp_path / "trusted.json"
    path.write_text(json.dumps({sha(QUERY): QUERY}))
    return path


@pytest.fixture
async def trusted(
    manifest: Path, weather: FakeUpstream, joke: FakeUpstream
) -> AsyncIterator[httpx.AsyncClient]:
    settings = GatewaySettings(upstream_retries=0, trusted_documents=manifest)
    async with serve(settings, weather, joke) as client:
        yield client


async def test_trusted_documents_run_by_hash_or_by_text(trusted: httpx.AsyncClient) -> None:
    """A trusted document runs whether the client sends its hash or its full text."""
    by_hash = (await trusted.post("/graphql", json={"extensions": persisted(sha(QUERY))})).json()
    by_text = (await trusted.post("/graphql", json={"query": QUERY})).json()
    assert by_hash["data"]["fullinfo"]["city"] == "Rodez"
    assert by_text["data"] == by_hash["data"]


async def test_anything_else_is_refused_with_no_upstream_call(
    trusted: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """Another document, by text or hash, and APQ registration are all refused."""
    for body in (
        {"query": OTHER},
        {"extensions": persisted(sha(OTHER))},
        {"query": OTHER, "extensions": persisted(sha(OTHER))},
    ):
        response = await trusted.post(
            "/graphql", json=body, headers={"Accept": "application/graphql-response+json"}
        )
        assert response.status_code == 400
        assert response.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert joke.calls == []


def test_apollo_manifests_load_too(tmp_path: Path) -> None:
    """Apollo's persisted query manifest format is read as well as a plain hash map."""
    path = tmp_path / "apollo.json"
    operations = [{"id": sha(QUERY), "name": "Q", "type": "query", "body": QUERY}]
    path.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    assert load_manifest(path) == {sha(QUERY): QUERY}


def test_a_manifest_with_a_wrong_hash_stops_the_start(tmp_path: Path) -> None:
    """A hash that is not its document's is an error at start-up, not a silent refusal."""
    path = tmp_path / "bad.json"
    path.write_text(json.dumps({sha(OTHER): QUERY}))
    with pytest.raises(ManifestError, match="not the sha256"):
        load_manifest(path)
