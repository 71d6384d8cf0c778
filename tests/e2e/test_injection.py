"""Hostile city text through every door of the real gateway, watched from the stubs.

Either the weather stub sees exactly one request, on ``/weather``, with exactly one ``city``
parameter equal to the normalised input, or the gateway refuses the input (4xx over REST,
``INVALID_INPUT`` over GraphQL) and no stub sees anything at all.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.support.processes import (
    ServiceProcess,
    StubProcess,
    gateway_env,
    running,
)

pytestmark = pytest.mark.e2e

REFUSED = None
# (what a client sends as the city, what the weather service must receive, or REFUSED)
CORPUS: list[tuple[str, str | None]] = [
    ("Paris&units=x", REFUSED),
    ("Paris;units=x", REFUSED),
    ("../admin", REFUSED),
    ("..%2Fadmin", REFUSED),
    ("%2e%2e%2f", REFUSED),
    ("..\\..\\admin", REFUSED),
    ("#", REFUSED),
    ("Paris#fragment", REFUSED),
    ("?", REFUSED),
    ("Paris?units=x", REFUSED),
    ("Paris\r\nX-Injected: 1", REFUSED),
    ("Paris\n", REFUSED),
    ("Pa\x00ris", REFUSED),
    ("http://169.254.169.254/", REFUSED),
    ("http://169.254.169.254/latest/meta-data/", REFUSED),
    ("//evil.example/x", REFUSED),
    ("@evil.example", REFUSED),
    ("paris@evil.example", REFUSED),
    ("\u202eParis", REFUSED),  # right-to-left override
    ("Pa\u200bris", REFUSED),  # zero-width space
    ("Paris\u200d", REFUSED),  # zero-width joiner
    ("\u200f", REFUSED),  # right-to-left mark alone
    ("a" * 100, "a" * 100),
    ("a" * 101, REFUSED),
    ("a" * 5000, REFUSED),
    ("Ｐａｒｉｓ", "Paris"),  # full-width forms, NFKC-normalised
    ("  Saint   Étienne  ", "Saint Étienne"),
    ("القاهرة", "القاهرة"),  # a right-to-left script is still a city
    ("L'Haÿ-les-Roses", "L'Haÿ-les-Roses"),
]

WEATHER_QUERY = "query ($city: String!) { weather(city: $city) { city } }"
FULLINFO_QUERY = "query ($city: String!) { fullinfo(city: $city) { city weather { city } joke } }"


@pytest.fixture(scope="module")
def gateway(weather_stub: StubProcess, joke_stub: StubProcess) -> Iterator[ServiceProcess]:
    # No cache: every accepted city must reach the stub, however often it is asked.
    env = gateway_env(weather_stub, joke_stub, upstream_retries=0, cache_weather_ttl_seconds=0)
    with running("gateway", env=env, args=("--no-access-log",)) as process:
        yield process


@pytest.fixture(scope="module")
def http(gateway: ServiceProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=gateway.url, timeout=10.0) as client:
        yield client


def ask(http: httpx.Client, door: str, city: str) -> httpx.Response:
    if door.startswith("rest"):
        return http.get(door.removeprefix("rest"), params={"city": city})
    query = WEATHER_QUERY if door == "graphql/weather" else FULLINFO_QUERY
    return http.post("/graphql", json={"query": query, "variables": {"city": city}})


def refused(response: httpx.Response, door: str) -> bool:
    """True when the gateway turned the input down at its edge."""
    if door.startswith("rest"):
        return 400 <= response.status_code < 500
    assert response.status_code == 200, response.text
    codes = {error["extensions"]["code"] for error in response.json().get("errors", [])}
    return codes == {"INVALID_INPUT"}


def city_calls(stub: StubProcess) -> list[dict[str, Any]]:
    requests: list[dict[str, Any]] = stub.stats()["requests"]
    return requests


@pytest.mark.parametrize(
    "door", ["rest/weather", "rest/fullinfo", "graphql/weather", "graphql/fullinfo"]
)
@pytest.mark.parametrize(
    ("city", "expected"),
    [
        pytest.param(city, expected, id=f"{ascii(city)[1:-1][:20]}~{len(city)}")
        for city, expected in CORPUS
    ],
)
def test_hostile_city_is_one_encoded_parameter_or_refused(
    http: httpx.Client,
    weather_stub: StubProcess,
    joke_stub: StubProcess,
    door: str,
    city: str,
    expected: str | None,
) -> None:
    """The weather stub sees one ``city`` equal to the normalised input, or nothing at all."""
    weather_stub.reset()
    joke_stub.reset()
    response = ask(http, door, city)
    assert response.status_code < 500
    assert "Traceback" not in response.text
    if expected is REFUSED:
        assert refused(response, door), response.text
        assert city_calls(weather_stub) == []
        assert city_calls(joke_stub) == []
        return
    assert not refused(response, door), response.text
    [call] = city_calls(weather_stub)
    assert call["path"] == "/weather"
    assert call["target"].startswith("/weather?")
    names = [name for name, _ in call["query"]]
    assert names.count("city") == 1
    assert set(names) <= {"city", "lang", "country"}
    assert dict(call["query"])["city"] == expected
    for joke_call in city_calls(joke_stub):  # the joke service never hears the city
        assert "city" not in dict(joke_call["query"])


@pytest.mark.parametrize(
    ("raw_query", "expected"),
    [
        pytest.param("city=Paris&units=x", "Paris", id="extra-parameter-dropped"),
        pytest.param("city=Paris&city=Lyon", "Lyon", id="repeated-parameter-once"),
        pytest.param("city=Paris%26units%3Dx", REFUSED, id="encoded-ampersand"),
        pytest.param("city=..%2F..%2Fadmin", REFUSED, id="encoded-traversal"),
        pytest.param("city=Paris%0D%0AX-Injected:%201", REFUSED, id="encoded-crlf"),
        pytest.param("city=Par%00is", REFUSED, id="encoded-nul"),
        pytest.param("city=%C0%AE%C0%AE%2F", REFUSED, id="overlong-utf8"),
        pytest.param("city=%E2%80%AEParis", REFUSED, id="encoded-rtl-override"),
    ],
)
def test_raw_query_string_reaches_the_upstream_as_one_city(
    http: httpx.Client, weather_stub: StubProcess, raw_query: str, expected: str | None
) -> None:
    """A query string built by hand still becomes one encoded ``city``, or a 4xx with no call."""
    weather_stub.reset()
    response = http.get(f"/weather?{raw_query}")
    assert response.status_code < 500
    calls = city_calls(weather_stub)
    if expected is REFUSED:
        assert 400 <= response.status_code < 500
        assert calls == []
        return
    assert response.status_code == 200
    [call] = calls
    assert call["path"] == "/weather"
    assert [value for name, value in call["query"] if name == "city"] == [expected]
    assert {name for name, _ in call["query"]} <= {"city", "lang", "country"}
