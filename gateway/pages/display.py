"""``/display``: a wall-screen page showing the weather and a joke for rotating cities.

The page is plain HTML, CSS and JavaScript shipped in the package (``templates/display.html``
and ``static/display/``): no CDN, no build step. Its script follows the city on screen live
with :data:`DISPLAY_SUBSCRIPTION` over a WebSocket (graphql-transport-ws: the gateway pushes
only changes) and moves to the next city every refresh; when the WebSocket fails it polls
instead, one ``POST /graphql`` per refresh with :data:`DISPLAY_QUERY`. Both select only the
fields the page shows. The footer says which of the two it is doing ("live" or "polling").
The server renders nothing but the page's settings into ``data-`` attributes, after checking
them like any other input.
"""

from __future__ import annotations

import functools
import json
from html import escape
from pathlib import Path
from string import Template
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from canaduck.inputs import CITY_MAX_LENGTH, City
from canaduck.problems import problem_responses
from gateway.pages.csp import content_security_policy, page_headers
from gateway.upstream.models import Lang

router = APIRouter()

TEMPLATE = Path(__file__).resolve().parents[1] / "templates" / "display.html"
GRAPHQL_ENDPOINT = "/graphql"
MAX_CITIES = 12
DEFAULT_REFRESH_SECONDS = 60
MIN_REFRESH_SECONDS = 10
MAX_REFRESH_SECONDS = 3600

# One upstream-fanning root field per request (a sibling limit allows two): the page asks
# for one city per refresh and rotates, never one alias per city.
DISPLAY_QUERY = """\
query Display($city: String!, $lang: Lang!) {
  fullinfo(city: $city, lang: $lang) {
    weather { country temperature condition conditionCode humidity windKph observedAt source }
    joke
  }
}"""

DISPLAY_SUBSCRIPTION = DISPLAY_QUERY.replace("query Display(", "subscription DisplayLive(", 1)

_TEXT = {
    Lang.FR: {
        "loading": "Chargement de la météo…",
        "noscript": "Cet écran a besoin de JavaScript pour afficher la météo.",
    },
    Lang.EN: {
        "loading": "Loading the weather…",
        "noscript": "This screen needs JavaScript to show the weather.",
    },
}

CitiesQuery = Annotated[
    list[City],
    Query(
        alias="city",
        min_length=1,
        max_length=MAX_CITIES,
        description="One or more cities, shown in turn; repeat the parameter for each.",
        examples=[["Rodez", "Honolulu"]],
        # Each item is a city like any other: never empty, at most 100 characters once folded.
        json_schema_extra={
            "items": {"type": "string", "minLength": 1, "maxLength": CITY_MAX_LENGTH}
        },
    ),
]
LangQuery = Annotated[Lang, Query(description="Language of the page, labels and jokes.")]
RefreshQuery = Annotated[
    int,
    Query(
        ge=MIN_REFRESH_SECONDS,
        le=MAX_REFRESH_SECONDS,
        description="Seconds between two updates; each update shows the next city.",
    ),
]


@functools.cache
def _template() -> Template:
    return Template(TEMPLATE.read_text(encoding="utf-8"))


def render_page(cities: list[str], lang: Lang, refresh_seconds: int) -> str:
    """The page's HTML; every value is escaped for an attribute or text context."""
    values = {
        "lang": lang.value,
        "title": " · ".join(cities),
        "cities": json.dumps(cities, ensure_ascii=False),
        "refresh": str(refresh_seconds),
        "query": DISPLAY_QUERY,
        "subscription": DISPLAY_SUBSCRIPTION,
        "endpoint": GRAPHQL_ENDPOINT,
        **_TEXT[lang],
    }
    return _template().substitute({key: escape(value) for key, value in values.items()})


@router.get(
    "/display",
    response_class=HTMLResponse,
    summary="A wall-screen page: weather and a joke, cities in turn (open it in a browser).",
    responses=problem_responses({422: "INVALID_INPUT: a city, lang or refresh is malformed."}),
)
async def display(
    city: CitiesQuery,
    lang: LangQuery = Lang.FR,
    refresh: RefreshQuery = DEFAULT_REFRESH_SECONDS,
) -> HTMLResponse:
    cities = list(dict.fromkeys(city))  # a city named twice would only slow the rotation
    return HTMLResponse(
        render_page(cities, lang, refresh), headers=page_headers(content_security_policy())
    )
