"""APQ and trusted documents against a real gateway process, as a client would see them."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import httpx
import pytest

from tests.support.processes import StubProcess, gateway_env, running

pytestmark = pytest.mark.e2e

QUERY = '{ fullinfo(city: "Tombouctou") { weather { city country } } }'
DIGEST = hashlib.sha256(QUERY.encode()).hexdigest()
BY_HASH = {"extensions": {"persistedQuery": {"version": 1, "sha256Hash": DIGEST}}}


def test_apq_sequence_on_a_real_process(weather_stub: StubProcess, joke_stub: StubProcess) -> None:
    """Hash alone → not found; hash + query → answered; hash alone again → answered."""
    with running("gateway", env=gateway_env(weather_stub, joke_stub)) as gateway:
        url = f"{gateway.url}/graphql"
        missing = httpx.post(url, json=BY_HASH, timeout=10).json()
        registered = httpx.post(url, json={"query": QUERY, **BY_HASH}, timeout=10).json()
        by_hash = httpx.post(url, json=BY_HASH, timeout=10).json()
    assert missing["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert registered["data"]["fullinfo"]["weather"]["city"]
    assert by_hash["data"] == registered["data"]


def test_trusted_documents_on_a_real_process(
    weather_stub: StubProcess, joke_stub: StubProcess, tmp_path: Path
) -> None:
    """With a manifest, its document runs by hash and any other document is refused."""
    manifest = tmp_path / "trusted.json"
    manifest.write_text(json.dumps({DIGEST: QUERY}))
    env = {**gateway_env(weather_stub, joke_stub), "GATEWAY_TRUSTED_DOCUMENTS": str(manifest)}
    with running("gateway", env=env) as gateway:
        url = f"{gateway.url}/graphql"
        trusted = httpx.post(url, json=BY_HASH, timeout=10).json()
        other = httpx.post(url, json={"query": "{ joke { text } }"}, timeout=10).json()
    assert trusted["data"]["fullinfo"]["weather"]["city"]
    assert other["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    assert "data" not in other or other["data"] is None
