"""The REST front door, for legacy scripts: two passthroughs and the merged ``/fullinfo``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse

from canaduck.inputs import CITY_MAX_LENGTH, City, Country
from canaduck.problems import PROBLEM_JSON, problem_response
from gateway.dependencies import UpstreamsDep
from gateway.errors import Service, UpstreamError
from gateway.fullinfo import fetch_fullinfo, status_when_all_failed
from gateway.models import Lang
from gateway.upstreams import UpstreamResponse, error_for_status

router = APIRouter()

CityQuery = Annotated[
    City,
    Query(
        description="City name, any case, accents optional.",
        max_length=CITY_MAX_LENGTH * 4,
        examples=["Rodez"],
    ),
]
CountryQuery = Annotated[Country | None, Query(description="ISO 3166-1 alpha-2 code.")]
LangQuery = Annotated[Lang | None, Query(description="Language of labels and jokes (fr).")]

_PROBLEM: dict[str, Any] = {
    "content": {PROBLEM_JSON: {}},
    "description": "Problem details (RFC 9457)",
}
_UPSTREAM_ERRORS: dict[int | str, dict[str, Any]] = {
    502: _PROBLEM,
    503: _PROBLEM,
    504: _PROBLEM,
    422: _PROBLEM,
}


def _relay(response: UpstreamResponse, service: Service) -> Response:
    """The upstream's own answer, unchanged, unless it is a server error."""
    if response.status_code >= 500:
        raise error_for_status(service, response.status_code)
    return Response(
        response.content, status_code=response.status_code, media_type=response.content_type
    )


def _params(**values: str | Lang | None) -> dict[str, str]:
    return {
        key: value.value if isinstance(value, Lang) else value
        for key, value in values.items()
        if value is not None
    }


@router.get("/health", summary="Liveness: the gateway process answers.")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/weather",
    summary="The weather service's answer, passed through unchanged.",
    responses={200: {"description": "Weather service JSON"}, 404: _PROBLEM, **_UPSTREAM_ERRORS},
)
async def weather(
    upstreams: UpstreamsDep, city: CityQuery, lang: LangQuery = None, country: CountryQuery = None
) -> Response:
    response = await upstreams.weather.fetch(
        "/weather", _params(city=city, lang=lang, country=country)
    )
    return _relay(response, upstreams.weather.service)


@router.get(
    "/joke",
    summary="The joke service's answer, passed through unchanged.",
    responses={200: {"description": "Joke service JSON"}, **_UPSTREAM_ERRORS},
)
async def joke(upstreams: UpstreamsDep, lang: LangQuery = None) -> Response:
    response = await upstreams.joke.fetch("/joke", _params(lang=lang))
    return _relay(response, upstreams.joke.service)


@router.get(
    "/fullinfo",
    summary="Weather and a joke for a city, merged into one JSON object.",
    responses={404: _PROBLEM, **_UPSTREAM_ERRORS},
)
async def fullinfo(
    upstreams: UpstreamsDep, city: CityQuery, lang: LangQuery = None, country: CountryQuery = None
) -> JSONResponse:
    info = await fetch_fullinfo(upstreams, city, lang or Lang.FR, country)
    errors: list[UpstreamError] = list(info.errors.values())
    if len(errors) == 2:
        status = status_when_all_failed(errors)
        return problem_response(
            status,
            "UPSTREAMS_FAILED",
            "Upstreams failed",
            "Neither the weather nor the joke service answered usefully.",
            errors=info.to_json()["errors"],
        )
    return JSONResponse(info.to_json())
