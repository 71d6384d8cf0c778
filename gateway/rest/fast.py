"""The REST routes' hot path: well-formed requests skip FastAPI's routing and dependencies.

``GET /fullinfo``, ``/weather`` and ``/joke`` with plain, valid parameters run the very
route functions of ``routes`` with the values checked here by the same rules
(``canaduck.inputs``), and their errors become the same problem JSON as FastAPI's
handlers make. Anything else — a missing, repeated or invalid parameter, another method —
goes on to FastAPI, which words the 422 (or 405) exactly as it always has. Measured: FastAPI's
per-request routing and dependency resolution cost about a third of a REST answer's CPU.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from canaduck.inputs import CITY_MAX_LENGTH, InvalidCity, normalize_city, normalize_country
from canaduck.problems import error_response
from gateway.context import problem_context
from gateway.errors import ApiError
from gateway.rest import routes
from gateway.upstream.models import Lang
from gateway.upstream.services import Upstreams

Handler = Callable[[Upstreams, dict[str, str]], Awaitable[Response]]
_LANGS = {lang.value: lang for lang in Lang}


async def _fullinfo(upstreams: Upstreams, params: dict[str, str]) -> Response:
    return await routes.fullinfo(
        upstreams, params["city"], _LANGS.get(params.get("lang", "")), params.get("country")
    )


async def _weather(upstreams: Upstreams, params: dict[str, str]) -> Response:
    return await routes.weather(
        upstreams, params["city"], _LANGS.get(params.get("lang", "")), params.get("country")
    )


async def _joke(upstreams: Upstreams, params: dict[str, str]) -> Response:
    return await routes.joke(upstreams, _LANGS.get(params.get("lang", "")))


# path → (its handler, the parameters it reads, the ones it needs)
ROUTES: dict[str, tuple[Handler, frozenset[str], frozenset[str]]] = {
    "/fullinfo": (_fullinfo, frozenset({"city", "lang", "country"}), frozenset({"city"})),
    "/weather": (_weather, frozenset({"city", "lang", "country"}), frozenset({"city"})),
    "/joke": (_joke, frozenset({"lang"}), frozenset()),
}


def checked(
    raw: list[tuple[str, str]], known: frozenset[str], needed: frozenset[str]
) -> dict[str, str] | None:
    """The parameters, normalised, when every rule holds; None sends the request on to
    FastAPI (which explains what is wrong)."""
    params: dict[str, str] = {}
    for key, value in raw:
        if key not in known:
            continue  # FastAPI ignores unknown parameters too
        if key in params:
            return None
        params[key] = value
    if not needed <= params.keys():
        return None
    try:
        if "city" in params:
            if len(params["city"]) > CITY_MAX_LENGTH * 4:
                return None
            params["city"] = normalize_city(params["city"])
        if "country" in params:
            params["country"] = normalize_country(params["country"])
    except (InvalidCity, ValueError):
        return None
    if "lang" in params and params["lang"] not in _LANGS:
        return None
    return params


class RestFastPath:
    """Pure ASGI, in front of FastAPI's router for the three REST routes."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = ROUTES.get(scope["path"]) if scope["type"] == "http" else None
        if route is None or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        handler, known, needed = route
        query = scope.get("query_string", b"").decode("latin-1")
        params = checked(parse_qsl(query, keep_blank_values=True), known, needed)
        if params is None:
            await self.app(scope, receive, send)
            return
        try:
            response = await handler(scope["state"]["upstreams"], params)
        except ApiError as exc:
            response = error_response(exc, **problem_context())
        await response(scope, receive, send)
