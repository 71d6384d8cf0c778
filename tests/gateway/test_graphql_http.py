"""/graphql speaks the GraphQL-over-HTTP specification: media types, statuses, request errors."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.fake_upstreams import FakeUpstream

RESPONSE_JSON = "application/graphql-response+json"


async def post(
    client: httpx.AsyncClient, body: dict[str, Any], accept: str = RESPONSE_JSON
) -> httpx.Response:
    return await client.post("/graphql", json=body, headers={"Accept": accept})


REQUEST_ERRORS: dict[str, tuple[dict[str, Any], str]] = {
    "variable that does not coerce": (
        {"query": "query($l: Lang!) { joke(lang: $l) { id } }", "variables": {"l": "DE"}},
        "Value 'DE' does not exist in 'Lang' enum",
    ),
    "missing required variable": (
        {"query": "query($c: String!) { weather(city: $c) { city } }"},
        "Expected a value of non-null type 'String!' to be provided.",
    ),
    "unknown operation name": (
        {"query": "query A { joke { id } }", "operationName": "B"},
        "Unknown operation named 'B'.",
    ),
    "several operations, no name": (
        {"query": "query A { joke { id } } query B { joke { text } }"},
        "Must provide operation name if query contains multiple operations.",
    ),
    "parse error": ({"query": "{ joke { id }"}, "Syntax Error"),
    "validation error": ({"query": "{ joke { nope } }"}, "Cannot query field 'nope'"),
}


@pytest.mark.parametrize("case", sorted(REQUEST_ERRORS))
async def test_request_errors_are_400_without_data_under_the_spec_media_type(
    gateway: httpx.AsyncClient, joke: FakeUpstream, case: str
) -> None:
    """A request that cannot run answers 400, no data entry, the reason in errors."""
    body, message = REQUEST_ERRORS[case]
    response = await post(gateway, body)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith(RESPONSE_JSON)
    answer = response.json()
    assert "data" not in answer
    assert message in answer["errors"][0]["message"]
    assert answer["errors"][0]["extensions"]["code"].startswith("GRAPHQL_")
    assert joke.calls == []


@pytest.mark.parametrize("case", sorted(REQUEST_ERRORS))
async def test_request_errors_stay_200_for_legacy_json_clients(
    gateway: httpx.AsyncClient, case: str
) -> None:
    """Under application/json the same errors answer 200 with data null, as before."""
    body, message = REQUEST_ERRORS[case]
    response = await post(gateway, body, accept="application/json")
    assert response.status_code == 200
    assert response.json()["data"] is None
    assert message in response.json()["errors"][0]["message"]


async def test_an_answer_with_field_errors_is_still_200(
    gateway: httpx.AsyncClient, joke: FakeUpstream
) -> None:
    """A partial answer is a 200 under either media type: the request itself ran."""
    joke.fault = "503"
    response = await post(gateway, {"query": '{ fullinfo(city: "Rodez") { city joke } }'})
    assert response.status_code == 200
    assert response.json()["data"] == {"fullinfo": {"city": "Rodez", "joke": None}}
    assert response.headers["x-canaduck-completed"] == "false"


@pytest.mark.parametrize(
    ("method", "status"), [("PUT", 405), ("DELETE", 405), ("PATCH", 405), ("OPTIONS", 204)]
)
async def test_methods(gateway: httpx.AsyncClient, method: str, status: int) -> None:
    """Other methods are refused with problem JSON and Allow; OPTIONS says what exists."""
    response = await gateway.request(method, "/graphql")
    assert response.status_code == status
    assert "POST" in response.headers["allow"]
    if status == 405:
        assert response.json()["code"] == "METHOD_NOT_ALLOWED"


async def test_unsupported_media_type_is_415(gateway: httpx.AsyncClient) -> None:
    """A form or text body is refused before anything runs, with problem JSON."""
    response = await gateway.post(
        "/graphql", content=b"query={joke{id}}", headers={"Content-Type": "text/plain"}
    )
    assert response.status_code == 415
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"


async def test_unacceptable_accept_is_406(gateway: httpx.AsyncClient) -> None:
    """A client that accepts neither GraphQL media type is told so."""
    response = await post(gateway, {"query": "{ __typename }"}, accept="text/csv")
    assert response.status_code == 406
    assert response.json()["code"] == "NOT_ACCEPTABLE"


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b'["a batch"]',
        b'{"query": 42}',
        b'{"query": "{ __typename }", "variables": [1]}',
        b'{"query": "{ __typename }", "operationName": 1}',
        b'{"variables": {}}',
    ],
)
async def test_malformed_requests_are_a_problem_400(
    gateway: httpx.AsyncClient, body: bytes
) -> None:
    """Bad JSON or badly typed parameters get a 400 problem that says which."""
    response = await gateway.post(
        "/graphql", content=body, headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "BAD_REQUEST"
    assert response.json()["detail"]
