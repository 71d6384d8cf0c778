"""The REST front door, for legacy scripts: two passthroughs and the merged ``/fullinfo``."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query, Response
from fastapi.responses import JSONResponse
from pydantic import WithJsonSchema

from canaduck.inputs import CITY_MAX_LENGTH, City, Country
from canaduck.problems import problem_response, problem_responses
from gateway.context import current_record, problem_context
from gateway.dependencies import UpstreamsDep
from gateway.errors import UpstreamBadResponse
from gateway.graphql.router import COMPLETED_HEADER
from gateway.rest.fullinfo import fetch_fullinfo, status_when_all_failed
from gateway.upstream.client import Fetched, Upstream, error_for_status
from gateway.upstream.models import Lang


class FastJSONResponse(JSONResponse):
    """Compact UTF-8 JSON, as Starlette's, encoded by orjson (a fifth the CPU of json)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


# Where a passthrough answer came from: off (not cached), miss, coalesced, hit or stale.
CACHE_HEADER = "X-Canaduck-Cache"

router = APIRouter()

# Up to 400 characters are read, so a name padded with spaces still fits once they are
# folded; what a client can count on, and what the document says, is 100.
CityQuery = Annotated[
    City,
    Query(
        description="City name, any case, accents optional.",
        max_length=CITY_MAX_LENGTH * 4,
        examples=["Rodez"],
        json_schema_extra={"maxLength": CITY_MAX_LENGTH},
    ),
]
# Documented as the weather service's pattern; surrounding spaces are forgiven, not promised.
CountryQuery = Annotated[
    Annotated[Country, WithJsonSchema({"type": "string", "pattern": "^[A-Za-z]{2}$"})] | None,
    Query(description="ISO 3166-1 alpha-2 code.", examples=["FR"]),
]
LangQuery = Annotated[Lang | None, Query(description="Language of labels and jokes (fr).")]

# Every error leaves as problem JSON: ours from canaduck.problems, and a service's 404 or 422,
# relayed as the service sent it, is problem JSON too.
_FAILURES = {
    422: "INVALID_INPUT: a parameter is missing or malformed (see errors).",
    502: "UPSTREAM_BAD_RESPONSE: the service failed or sent an answer the gateway cannot use.",
    503: "UPSTREAM_UNAVAILABLE or UPSTREAM_CIRCUIT_OPEN: the service cannot be reached now.",
    504: "UPSTREAM_TIMEOUT or GATEWAY_TIMEOUT: no answer within the deadline.",
}
_CITY_NOT_FOUND = {404: "CITY_NOT_FOUND: the weather service knows no city of that name."}
_CACHE_HEADERS = {
    CACHE_HEADER: {
        "description": "Where the answer came from: off, miss, coalesced, hit or stale.",
        "schema": {"enum": ["off", "miss", "coalesced", "hit", "stale"]},
    }
}


def _relay(fetched: Fetched, upstream: Upstream) -> Response:
    """The upstream's own answer, unchanged: success or client error only.

    A server error becomes our problem JSON (its body may hold internals), and a redirect is
    never relayed (it could point a client anywhere). A success is relayed only when its body
    is the service's contract: an HTML error page or a JSON of another shape sent with a 200
    is a bad upstream answer (502), as it is for GraphQL. A client error is relayed only when
    its body is JSON (the service's problem); an HTML 404 from something in between becomes
    our 502 problem with ``upstreamStatus``. (``Upstream.fetch`` already refuses both kinds of
    garbage and counts them against the breaker; this keeps the door shut on its own.) An
    answer from the cache says so (``X-Canaduck-Cache``, ``Age``); the body stays the bytes
    the service sent.
    """
    response = fetched.response
    status = response.status_code
    if status >= 500:
        raise error_for_status(upstream.service, status)
    if 300 <= status < 400 or (status >= 400 and not upstream.is_valid(response)):
        raise UpstreamBadResponse(upstream.service, upstream_status=status)
    if status < 300:
        upstream.parse(response, upstream.model)  # raises UpstreamBadResponse; bytes unchanged
    headers: dict[str, str] = {CACHE_HEADER: fetched.cache}
    if fetched.cache in ("hit", "stale"):
        headers["Age"] = str(int(fetched.age_seconds))
    return Response(
        response.content, status_code=status, media_type=response.content_type, headers=headers
    )


def _params(**values: str | Lang | None) -> dict[str, str]:
    return {
        key: value.value if isinstance(value, Lang) else value
        for key, value in values.items()
        if value is not None
    }


@router.get(
    "/weather",
    summary="The weather service's answer, passed through unchanged.",
    responses={
        200: {"description": "The weather service's JSON.", "headers": _CACHE_HEADERS},
        **problem_responses({**_CITY_NOT_FOUND, **_FAILURES}),
    },
)
async def weather(
    upstreams: UpstreamsDep, city: CityQuery, lang: LangQuery = None, country: CountryQuery = None
) -> Response:
    fetched = await upstreams.weather.get(
        "/weather", _params(city=city, lang=lang, country=country)
    )
    return _relay(fetched, upstreams.weather)


@router.get(
    "/joke",
    summary="The joke service's answer, passed through unchanged.",
    responses={
        200: {"description": "The joke service's JSON.", "headers": _CACHE_HEADERS},
        **problem_responses(
            {404: "NO_JOKES: the joke service has no joke in that language.", **_FAILURES}
        ),
    },
)
async def joke(upstreams: UpstreamsDep, lang: LangQuery = None) -> Response:
    fetched = await upstreams.joke.get("/joke", _params(lang=lang))
    return _relay(fetched, upstreams.joke)


@router.get(
    "/fullinfo",
    summary="Weather and a joke for a city, merged into one JSON object.",
    responses={
        200: {
            "description": "The merged answer; a part that failed is null and named in errors.",
            "headers": {
                COMPLETED_HEADER: {
                    "description": "false when a part is missing or stale (see errors).",
                    "schema": {"enum": ["true", "false"]},
                }
            },
        },
        **problem_responses(
            {
                **_CITY_NOT_FOUND,
                422: _FAILURES[422],
                502: "UPSTREAMS_FAILED: both services failed, for different reasons.",
                503: "UPSTREAMS_FAILED: neither service can be reached now.",
                504: "UPSTREAMS_FAILED (both services timed out) or GATEWAY_TIMEOUT.",
            }
        ),
    },
)
async def fullinfo(
    upstreams: UpstreamsDep, city: CityQuery, lang: LangQuery = None, country: CountryQuery = None
) -> JSONResponse:
    info = await fetch_fullinfo(upstreams, city, lang or Lang.FR, country)
    record = current_record()
    body = info.to_json(record.sources if record is not None else None)
    failures = list(info.failures.values())
    if len(failures) < 2:
        # A missing or stale part still leaves a useful answer: 200, marked incomplete.
        completed = "false" if info.errors else "true"
        return FastJSONResponse(body, headers={COMPLETED_HEADER: completed})
    retry_after = {e.headers["Retry-After"] for e in failures if "Retry-After" in e.headers}
    return problem_response(
        status_when_all_failed(failures),
        "UPSTREAMS_FAILED",
        "Upstreams failed",
        "Neither the weather nor the joke service answered usefully.",
        headers={"Retry-After": max(retry_after, key=int)} if retry_after else None,
        errors=body["errors"],
        **problem_context(),
    )
