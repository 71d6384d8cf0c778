"""schemathesis against the OpenAPI of the three services and the gateway's GraphQL schema.

Each API is loaded from its checked-in contract in ``schema/`` (``tests/test_contracts.py``
keeps those equal to what the apps serve) and each call goes to an app in-process over ASGI
(``app=``), never to a socket. The gateway runs in front of the real weather and joke
services, so its upstreams are healthy and every failure is the API's own. Every operation
gets MAX_EXAMPLES = 100 generated cases, plus schemathesis's examples and coverage cases, with
the default checks, derandomized: the module took 40-50 s (pytest's count) on a 2-core machine.
"""

from __future__ import annotations

from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from hypothesis import settings
from schemathesis.checks import not_a_server_error
from starlette.types import ASGIApp, Receive, Scope, Send

from canaduck.problems import InvalidInput
from gateway.config import GatewaySettings
from gateway.errors import CityNotFound, Service
from gateway.graphql.limits import TOO_COMPLEX
from gateway.main import create_app as create_gateway
from joke_service.config import JokeSettings
from joke_service.main import create_app as create_joke_service
from weather_service.cities import Gazetteer
from weather_service.config import WeatherSettings
from weather_service.main import create_app as create_weather_service

MAX_EXAMPLES = 100
SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schema"

# A city is free text, normalised (NFKC, spaces folded), checked against an allowlist and then
# looked up: rules neither JSON Schema nor GraphQL's String can state. Positive cases draw their
# city from this list (all French, like the countries drawn), so schema-valid data must really be
# accepted; arbitrary text is fuzzed in production mode below and in test_input_properties.
CITIES = [
    "Rodez",
    "rodez",
    "PARIS",
    "Besançon",
    "besancon",
    "Saint-Étienne",
    "  Le   Mans ",
    "Ｎｉｃｅ",
]
DICTIONARIES = {"cities": {"values": CITIES}, "countries": {"values": ["FR", "fr"]}}

SIMULATED = WeatherSettings(provider="simulated")  # offline, whatever the environment says
Case = schemathesis.Case[Any]  # one type for cases of every API
fuzz = settings(max_examples=MAX_EXAMPLES, derandomize=True, deadline=None)


def _openapi(name: str, **extra: Any) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_path(
        SCHEMA_DIR / name,
        config=schemathesis.Config.from_dict(
            {
                "dictionaries": DICTIONARIES,
                "parameters": {
                    "query.city": {"dictionary": "cities"},
                    "query.country": {"dictionary": "countries"},
                },
                **extra,
            }
        ),
    )


def _graphql(*, known_cities: bool) -> schemathesis.BaseSchema:
    config: dict[str, Any] = {"base-url": "http://testserver/graphql"}
    if known_cities:
        config["dictionaries"] = DICTIONARIES
        config["parameters"] = {
            "*.*.city": {"dictionary": "cities"},
            "*.*.country": {"dictionary": "countries"},
        }
    return schemathesis.graphql.from_path(
        SCHEMA_DIR / "gateway.graphql", config=schemathesis.Config.from_dict(config)
    )


weather_api = _openapi("weather.openapi.json")
joke_api = _openapi("joke.openapi.json")
gateway_api = _openapi(
    "gateway.openapi.json",
    operations=[
        # Its cities are the items of an array, and schemathesis binds dictionaries to scalar
        # parameters only, so positive cases send arbitrary text, which is rightly a 422.
        {"include-path": "/display", "checks": {"positive_data_acceptance": {"enabled": False}}}
    ],
    # Strawberry's own entry for /graphql documents no request; the GraphQL tests fuzz it.
).exclude(path="/graphql")
gateway_graphql = _graphql(known_cities=True)
production_graphql = _graphql(known_cities=False)

# What arbitrary input may earn from a production gateway with healthy upstreams.
CLIENT_ERROR_CODES = {
    "GRAPHQL_PARSE_FAILED",
    "GRAPHQL_VALIDATION_FAILED",
    TOO_COMPLEX,
    InvalidInput.code,
    CityNotFound.code,
}


def clean_graphql_response(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: Case
) -> bool | None:
    """A 200 with data or errors, or a 4xx saying why; every error code one input explains."""
    status = response.status_code
    assert status == 200 or 400 <= status < 500, f"status {status}"
    try:
        body = response.json()
    except ValueError:
        body = None
    assert isinstance(body, dict), f"{status} without a JSON object: {response.text[:200]!r}"
    assert {"data", "errors", "code"} & body.keys(), f"{status} says nothing: {body}"
    codes = {(error.get("extensions") or {}).get("code") for error in body.get("errors") or ()}
    assert codes <= CLIENT_ERROR_CODES, f"unexpected error codes {codes - CLIENT_ERROR_CODES}"
    return None


# schemathesis keeps each app's started lifespan keyed by ``id(app)``
# (schemathesis/python/asgi.py, ``_LIFESPANS``). An app collected after its test frees its id
# for the next one, which would then be served the old app's ended lifespan state (seen as a
# KeyError on "upstreams"). Keeping every app alive keeps every id unique.
_APPS: list[WithServices] = []


class WithServices:
    """The gateway as one ASGI app whose lifespan also runs the services it calls in-process."""

    def __init__(self, settings: GatewaySettings, services: dict[Service, FastAPI]) -> None:
        _APPS.append(self)
        self._services = services
        self._running: dict[Service, ASGIApp] = {}
        self.gateway = create_gateway(
            settings,
            transports={name: httpx.ASGITransport(app=self._forward(name)) for name in services},
        )

    def _forward(self, name: Service) -> ASGIApp:
        async def running_service(scope: Scope, receive: Receive, send: Send) -> None:
            await self._running[name](scope, receive, send)

        return running_service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # schemathesis runs the lifespan of the app it calls, and ends it after each test.
        if scope["type"] != "lifespan":
            await self.gateway(scope, receive, send)
            return
        async with AsyncExitStack() as stack:
            for name, service in self._services.items():
                manager = await stack.enter_async_context(LifespanManager(service))
                self._running[name] = manager.app
            await self.gateway(scope, receive, send)


@pytest.fixture(scope="module")
def gazetteer() -> Gazetteer:
    return Gazetteer.load()


@pytest.fixture(scope="module")
def weather_app(gazetteer: Gazetteer) -> FastAPI:
    return create_weather_service(SIMULATED, gazetteer=gazetteer)


@pytest.fixture(scope="module")
def joke_app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    db_path = tmp_path_factory.mktemp("jokes") / "jokes.sqlite3"
    return create_joke_service(JokeSettings(db_path=db_path))


def _gateway(settings: GatewaySettings, gazetteer: Gazetteer, db_dir: Path) -> WithServices:
    return WithServices(
        settings,
        {
            "weather": create_weather_service(SIMULATED, gazetteer=gazetteer),
            "joke": create_joke_service(JokeSettings(db_path=db_dir / "jokes.sqlite3")),
        },
    )


@pytest.fixture(scope="module")
def gateway_app(gazetteer: Gazetteer, tmp_path_factory: pytest.TempPathFactory) -> WithServices:
    settings = GatewaySettings(upstream_retries=0)
    return _gateway(settings, gazetteer, tmp_path_factory.mktemp("gateway"))


@pytest.fixture(scope="module")
def production_gateway_app(
    gazetteer: Gazetteer, tmp_path_factory: pytest.TempPathFactory
) -> WithServices:
    settings = GatewaySettings(env="production", upstream_retries=0)
    return _gateway(settings, gazetteer, tmp_path_factory.mktemp("production"))


@weather_api.parametrize()
@fuzz
def test_weather_openapi(case: Case, weather_app: FastAPI) -> None:
    """Every weather service operation answers as its OpenAPI document says."""
    case.call_and_validate(app=weather_app)


@joke_api.parametrize()
@fuzz
def test_joke_openapi(case: Case, joke_app: FastAPI) -> None:
    """Every joke service operation answers as its OpenAPI document says."""
    case.call_and_validate(app=joke_app)


@gateway_api.parametrize()
@fuzz
def test_gateway_openapi(case: Case, gateway_app: WithServices) -> None:
    """Every gateway REST operation answers as its OpenAPI document says."""
    case.call_and_validate(app=gateway_app)


@gateway_graphql.parametrize()
@fuzz
def test_gateway_graphql(case: Case, gateway_app: WithServices) -> None:
    """A valid query for a known city gets all its data, and an invalid document is refused."""
    case.call_and_validate(app=gateway_app)


@production_graphql.parametrize()
@fuzz
def test_production_graphql_answers_cleanly(
    case: Case, production_gateway_app: WithServices
) -> None:
    """Arbitrary queries to a production gateway get data or coded client errors, never a 500."""
    # not_a_server_error also reads any resolver error as a server error (ST113), and arbitrary
    # text earns INVALID_INPUT or CITY_NOT_FOUND; clean_graphql_response is its strict
    # replacement for this run: no 5xx, and only codes a client's input explains.
    case.call_and_validate(
        app=production_gateway_app,
        excluded_checks=[not_a_server_error],
        additional_checks=[clean_graphql_response],
    )
