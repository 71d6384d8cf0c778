"""The prepared /graphql path answers exactly as the reference execution (Strawberry) does.

Each document goes down both paths of one in-process gateway over the fakes (see
``tests.gateway.differential``): data (key order and number types included), errors
(message, path, locations, extensions; as a multiset), ``extensions.sources`` (apart from
latencyMs and ageSeconds). Generated documents, a hand corpus under every fault mode of
the fakes, and the upstream states that need setting up: timeouts, open circuits, stale
and cached answers. The last two tests check the comparison itself: what it ignores,
and that it catches a deliberate shaper bug.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.graphql import prepared
from gateway.graphql.schema import build_schema
from tests.gateway.differential import (
    FAULTS,
    DifferentialGateway,
    Document,
    compare,
    differential_gateway,
    differential_settings,
    documents,
)
from tests.support.fake_upstreams import FakeUpstream, Fault, weather_body

JSON = "application/json"
SEED = '{ fullinfo(city: "Rodez") { city weather { temperature condition } joke } }'

# Room for generated documents: limits the generator would trip on every other draw
# (both paths answer those with the same single error; the hand corpus covers that).
GENERATED_LIMITS: dict[str, Any] = {
    "max_upstream_root_fields": 6,
    "max_directives": 40,
    "max_aliases": 40,
    "max_tokens": 5000,
}
# Fault settings of (weather, joke): none, each fault of the fakes on one service while
# the other answers (partial failures both ways), and both down.
FAULT_SETTINGS: list[tuple[Fault | None, Fault | None]] = [
    (None, None),
    *((fault, None) for fault in FAULTS),
    *((None, fault) for fault in FAULTS),
    ("dead", "dead"),
]

CORPUS: dict[str, Document] = {
    "seed": Document(SEED),
    "every field": Document(
        '{ weather(city: "Rodez", country: "fr") { city country latitude longitude timezone '
        "temperature condition conditionCode humidity windKph observedAt source } "
        "joke { id text lang } }"
    ),
    "aliases": Document(
        '{ here: fullinfo(city: "Rodez") { town: city w: weather { t: temperature '
        "c: condition } j: joke } }"
    ),
    "one field under two aliases": Document(
        '{ a: weather(city: "Rodez") { t1: temperature t2: temperature city } '
        'b: weather(city: "Paris", lang: EN) { condition c: condition } }'
    ),
    "one key selected twice, merged": Document(
        '{ fullinfo(city: "Rodez") { weather { city } city weather { country } city joke } }'
    ),
    "root field selected twice, merged": Document("{ joke { id } joke { text } }"),
    "nested fragments": Document(
        'query Nested { fullinfo(city: "Rodez") { ...Info } } '
        "fragment Info on FullInfo { city weather { ...Reading } ...JokeOnly } "
        "fragment Reading on Weather { temperature ...Where } "
        "fragment Where on Weather { city country } "
        "fragment JokeOnly on FullInfo { joke }",
        operation_name="Nested",
    ),
    "inline fragments": Document(
        '{ fullinfo(city: "Rodez") { ... on FullInfo { city weather { ... on Weather '
        "{ temperature } ... { humidity } } } ... @include(if: true) { joke } "
        "... @skip(if: true) { city } } }"
    ),
    "spreads on FullInfo and Weather with directives": Document(
        '{ fullinfo(city: "Rodez") { ...F @include(if: true) weather { ...W @skip(if: false) '
        "...X @skip(if: true) } } } fragment F on FullInfo { joke } "
        "fragment W on Weather { condition } fragment X on Weather { city }"
    ),
    "fragment on Query": Document(
        '{ ...Root } fragment Root on Query { __typename joke { text } weather(city: "Rodez") '
        "{ city } }"
    ),
    "variable defaults": Document(
        'query Defaults($city: String = "Rodez", $lang: Lang = EN, $country: String = "FR") '
        "{ fullinfo(city: $city, lang: $lang, country: $country) "
        "{ city weather { condition country } joke } }"
    ),
    "variables override defaults": Document(
        'query Defaults($city: String = "Rodez", $lang: Lang = EN, $country: String = "FR") '
        "{ fullinfo(city: $city, lang: $lang, country: $country) "
        "{ city weather { condition country } joke } }",
        {"city": " paris ", "lang": "FR", "country": "us"},
    ),
    "required variables": Document(
        "query($city: String!, $lang: Lang!) { weather(city: $city, lang: $lang) "
        "{ city condition } joke(lang: $lang) { lang } }",
        {"city": "Rodez", "lang": "EN"},
    ),
    "skip and include literals": Document(
        '{ fullinfo(city: "Rodez") { city @skip(if: true) weather @include(if: false) '
        "{ city } joke @include(if: true) } joke @skip(if: false) { id } }"
    ),
    "skip and include variables, kept": Document(
        'query($s: Boolean!, $i: Boolean = true) { fullinfo(city: "Rodez") { city @skip(if: $s) '
        "weather @include(if: $i) { city @skip(if: $s) temperature } "
        "joke @skip(if: $s) @include(if: $i) } }",
        {"s": False},
    ),
    "skip and include variables, dropped": Document(
        'query($s: Boolean!, $i: Boolean = true) { fullinfo(city: "Rodez") { city @skip(if: $s) '
        "weather @include(if: $i) { city @skip(if: $s) temperature } "
        "joke @skip(if: $s) @include(if: $i) } }",
        {"s": True, "i": False},
    ),
    "everything skipped": Document('{ fullinfo(city: "Rodez") @skip(if: true) { city } }'),
    "__typename at every level": Document(
        '{ __typename fullinfo(city: "Rodez") { __typename weather { __typename city } '
        "kind: __typename } joke { __typename t: __typename } }"
    ),
    "__typename alone": Document("{ __typename }"),
    "lang EN everywhere": Document(
        '{ fullinfo(city: "rodez", lang: EN) { weather { condition } joke } '
        "joke(lang: EN) { lang text } }"
    ),
    "INVALID_INPUT city": Document(
        '{ fullinfo(city: "../admin") { city weather { city } joke } joke { id } }'
    ),
    "INVALID_INPUT city variable": Document(
        "query($c: String!) { weather(city: $c) { city } }", {"c": ""}
    ),
    "INVALID_INPUT country": Document(
        '{ weather(city: "Paris", country: "USA") { city } '
        'fullinfo(city: "Paris", country: "1x") { city } }'
    ),
    "CITY_NOT_FOUND": Document('{ fullinfo(city: "Nowhere") { city weather { city } joke } }'),
    "CITY_NOT_FOUND at the root": Document('{ weather(city: "Nowhere") { city } joke { id } }'),
    "operation chosen by name": Document(
        'query A { joke { id } } query B { weather(city: "Rodez") { city } }',
        operation_name="B",
    ),
    "GRAPHQL_PARSE_FAILED": Document('{ fullinfo(city: "Rodez") { city }'),
    "GRAPHQL_VALIDATION_FAILED": Document('{ fullinfo(city: "Rodez") { nope } }'),
    "QUERY_TOO_COMPLEX": Document("{ a: joke { id } b: joke { id } c: joke { id } }"),
    "introspection": Document("{ __schema { queryType { name } } }"),
    "null flag variable at the root": Document(
        "query($s: Boolean = false) { joke @skip(if: $s) { id } }", {"s": None}
    ),
    "null flag variable in a sub-selection": Document(
        'query($s: Boolean = false) { fullinfo(city: "Rodez") { city joke @include(if: $s) } '
        "joke { id } }",
        {"s": None},
    ),
    "null city into a non-null argument": Document(
        'query($c: String = "Rodez") { weather(city: $c) { city } joke { id } }', {"c": None}
    ),
    "null lang into a non-null argument": Document(
        "query($l: Lang = EN) { joke(lang: $l) { lang } }", {"l": None}
    ),
}
# Request errors (a variable that does not coerce, an operation name the document lacks,
# several operations and no name) are the endpoint's, before either execution runs:
# tests/gateway/test_graphql_http.py holds them to the GraphQL-over-HTTP specification.
KNOWN_GAPS: dict[str, Any] = {}


def _corpus() -> list[Any]:
    return [
        pytest.param(document, id=name, marks=KNOWN_GAPS.get(name, ()))
        for name, document in CORPUS.items()
    ]


def _set_faults(
    weather: FakeUpstream, joke: FakeUpstream, faults: tuple[Fault | None, Fault | None]
) -> None:
    weather.fault, joke.fault = faults
    weather.script.clear()
    joke.script.clear()


async def _differences(
    gateway: DifferentialGateway, document: Document, label: str = ""
) -> list[str]:
    return [f"{label}{difference}" for difference in await gateway.differences(document)]


@pytest.fixture
async def generated_gateway(
    weather: FakeUpstream, joke: FakeUpstream
) -> AsyncIterator[DifferentialGateway]:
    async with differential_gateway(
        differential_settings(**GENERATED_LIMITS), weather, joke
    ) as gateway:
        yield gateway


# Reproducible in CI: the same examples every run, no example database.
GENERATION = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,  # one gateway serves every example
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)
SCHEMA = build_schema(differential_settings())._schema


@settings(GENERATION, max_examples=100)
@given(document=documents(SCHEMA), faults=st.sampled_from(FAULT_SETTINGS))
async def test_generated_documents_match_the_reference(
    generated_gateway: DifferentialGateway,
    weather: FakeUpstream,
    joke: FakeUpstream,
    document: Document,
    faults: tuple[Fault | None, Fault | None],
) -> None:
    """Generated documents under drawn faults: the prepared path answers as the reference."""
    _set_faults(weather, joke, faults)
    assert await generated_gateway.differences(document) == []


@pytest.mark.parametrize("document", _corpus())
async def test_hand_corpus_matches_the_reference_under_every_fault(
    weather: FakeUpstream, joke: FakeUpstream, document: Document
) -> None:
    """Each hand-written document, under each fault mode of the fakes, answers as the
    reference does."""
    async with differential_gateway(differential_settings(), weather, joke) as gateway:
        found = await _differences(gateway, document, "no fault: ")
        # Which services a document calls depends on it alone: faults elsewhere are moot.
        called = {"weather": bool(weather.calls), "joke": bool(joke.calls)}
        for faults in FAULT_SETTINGS[1:]:
            if (faults[0] and called["weather"]) or (faults[1] and called["joke"]):
                _set_faults(weather, joke, faults)
                found += await _differences(gateway, document, f"faults {faults}: ")
    assert found == []


async def test_upstream_timeouts_match_the_reference(
    weather: FakeUpstream, joke: FakeUpstream
) -> None:
    """UPSTREAM_TIMEOUT, on either service or both, answers as the reference does."""
    found, codes = [], set()
    # The healthy service must answer within the timeout even on a busy machine.
    quick = differential_settings(upstream_timeout_seconds=0.2, request_timeout_seconds=5.0)
    async with differential_gateway(quick, weather, joke) as gateway:
        for weather.delay_seconds, joke.delay_seconds in [(0.6, 0.0), (0.0, 0.6), (0.6, 0.6)]:
            for document in (CORPUS["seed"], CORPUS["every field"]):
                answers = await gateway.answers(document)
                label = f"delays {weather.delay_seconds}/{joke.delay_seconds}: "
                found += [f"{label}{difference}" for difference in answers.differences()]
                codes |= {e["extensions"]["code"] for e in answers.reference.get("errors", ())}
    assert found == []
    assert codes == {"UPSTREAM_TIMEOUT"}


async def test_open_circuits_match_the_reference(weather: FakeUpstream, joke: FakeUpstream) -> None:
    """UPSTREAM_CIRCUIT_OPEN on both services answers as the reference does."""
    tripping = differential_settings(breaker_failure_threshold=1, breaker_cooldown_seconds=60)
    async with differential_gateway(tripping, weather, joke) as gateway:
        _set_faults(weather, joke, ("503", "dead"))
        await gateway.answers(Document(SEED))  # one failure each: both circuits open
        _set_faults(weather, joke, (None, None))
        found, codes = [], set()
        for document in (CORPUS["seed"], CORPUS["every field"], CORPUS["aliases"]):
            answers = await gateway.answers(document)
            found += answers.differences()
            codes |= {e["extensions"]["code"] for e in answers.reference.get("errors", ())}
    assert found == []
    assert codes == {"UPSTREAM_CIRCUIT_OPEN"}


@pytest.mark.parametrize(
    "faults",
    [("503", None), (None, "dead"), ("dead", "500")],
    ids=["weather stale", "joke stale", "both stale"],
)
async def test_stale_answers_match_the_reference(
    weather: FakeUpstream, joke: FakeUpstream, faults: tuple[Fault | None, Fault | None]
) -> None:
    """STALE_DATA (cache on, the upstream failing after a success) answers as the
    reference does, for one service stale beside a healthy one, or both stale."""
    # Only the failing services cache: a healthy one's refreshed entry would be a "miss"
    # for the first path and a "hit" for the second.
    caching = differential_settings(
        cache_weather_ttl_seconds=0.1 if faults[0] else 0.0,
        cache_joke_ttl_seconds=0.1 if faults[1] else 0.0,
        cache_max_stale_seconds=60,
    )
    documents = (CORPUS["seed"], CORPUS["every field"], CORPUS["aliases"])
    found = []
    async with differential_gateway(caching, weather, joke) as gateway:
        for document in documents:
            await gateway.answers(document)  # fills the cache
        await asyncio.sleep(0.15)  # past the TTL: a failure now serves the stale copy
        _set_faults(weather, joke, faults)
        for document in documents:
            found += await _differences(gateway, document)
        served = (await gateway.answers(documents[0])).reference
    assert found == []
    assert {e["extensions"]["code"] for e in served["errors"]} == {"STALE_DATA"}


async def test_cache_hits_match_the_reference(weather: FakeUpstream, joke: FakeUpstream) -> None:
    """Answers from a fresh cache entry (extensions.sources cache "hit") match too."""
    caching = differential_settings(cache_weather_ttl_seconds=60, cache_joke_ttl_seconds=60)
    found = []
    async with differential_gateway(caching, weather, joke) as gateway:
        for document in (CORPUS["seed"], CORPUS["every field"]):
            await gateway.answers(document)
        for document in (
            CORPUS["seed"],
            CORPUS["every field"],
            CORPUS["__typename at every level"],
        ):
            found += await _differences(gateway, document)
    assert found == []


def _json(value: object) -> bytes:
    return json.dumps(value).encode()


ODD_ANSWERS: dict[str, tuple[str, tuple[int, bytes, str]]] = {
    "weather in another layout": (
        "weather",
        (
            200,
            _json(
                {
                    **weather_body('Ünïcode "city"'),
                    "temperature": 21,
                    "observed_at": "2026-11-28T13:00:00Z",
                    "extra": [1, 2],
                }
            ),
            "application/json; charset=utf-8",
        ),
    ),
    "weather missing a field": (
        "weather",
        (200, _json({k: v for k, v in weather_body("Rodez").items() if k != "humidity"}), JSON),
    ),
    "weather as text/plain": ("weather", (200, _json(weather_body("Rodez")), "text/plain")),
    "weather HTML 404": ("weather", (404, b"<html><body>404</body></html>", "text/html")),
    "weather problem 404 of another code": (
        "weather",
        (404, _json({"status": 404, "code": "NO_ROUTE"}), "application/problem+json"),
    ),
    "joke with odd text": (
        "joke",
        (200, _json({"id": 8, "joke": 'Line\n"two" \u2028 ü', "lang": "en"}), JSON),
    ),
    "joke with a null text": ("joke", (200, _json({"id": 7, "joke": None, "lang": "fr"}), JSON)),
    "joke 503 problem": ("joke", (503, _json({"status": 503, "code": "DOWN"}), JSON)),
}


@pytest.mark.parametrize("odd", ODD_ANSWERS.values(), ids=ODD_ANSWERS.keys())
async def test_odd_upstream_answers_match_the_reference(
    weather: FakeUpstream, joke: FakeUpstream, odd: tuple[str, tuple[int, bytes, str]]
) -> None:
    """Unusual but possible upstream answers (other layouts, types, statuses, content
    types) answer as the reference does."""
    service, canned = odd
    (weather if service == "weather" else joke).canned = canned
    found = []
    async with differential_gateway(differential_settings(), weather, joke) as gateway:
        for name in ("seed", "every field", "CITY_NOT_FOUND", "__typename at every level"):
            found += await _differences(gateway, CORPUS[name], f"{name}: ")
    assert found == []


# ---------------------------------------------------------------- the comparison itself


def test_comparison_ignores_only_error_order_and_run_measures() -> None:
    """Errors compare as a multiset, sources without latencyMs/ageSeconds, STALE_DATA
    without its age; anything else that differs (data key order, a number's type, an
    error's path, a source's cache) is reported."""
    source = {"status": "OK", "latencyMs": 1.0, "cache": "off", "ageSeconds": 0}
    message = "The joke service failed (UPSTREAM_TIMEOUT); this value was stored 0 s ago."
    stale: dict[str, Any] = {
        "message": message,
        "path": ["y"],
        "extensions": {"code": "STALE_DATA", "ageSeconds": 0, "cause": "UPSTREAM_TIMEOUT"},
    }
    older = {
        **stale,
        "message": message.replace("0 s", "1 s"),
        "extensions": {**stale["extensions"], "ageSeconds": 1},
    }
    errors = [{"message": "a", "path": ["x"]}, stale]
    answer = {
        "data": {"x": None, "y": 1},
        "errors": errors,
        "extensions": {"sources": {"joke": source}},
    }
    same = {
        "data": {"x": None, "y": 1},
        "errors": [older, errors[0]],
        "extensions": {"sources": {"joke": {**source, "latencyMs": 9.5, "ageSeconds": 3}}},
    }
    assert compare(answer, same) == []
    for changed in (
        {**answer, "data": {"y": 1, "x": None}},
        {**answer, "data": {"x": None, "y": 1.0}},
        {**answer, "errors": errors[:1]},
        {**answer, "errors": [errors[0], {**stale, "path": ["y", 0]}]},
        {**answer, "errors": [errors[0], {**stale, "extensions": {"code": "STALE_DATA"}}]},
        {**answer, "extensions": {"sources": {"joke": {**source, "cache": "hit"}}}},
        {"data": answer["data"], "errors": errors},
    ):
        assert compare(answer, changed) != [], changed


def _aliases_ignored(
    original: Callable[..., dict[str, Any]],
) -> Callable[..., dict[str, Any]]:
    def shape(self: prepared.Runner, type_name: str, children: Any, source: Any) -> dict[str, Any]:
        children = tuple(c.__class__(c.name, c.name, c.nodes, c.children) for c in children)
        return original(self, type_name, children, source)

    return shape


def _typename_dropped(
    original: Callable[..., dict[str, Any]],
) -> Callable[..., dict[str, Any]]:
    def shape(self: prepared.Runner, type_name: str, children: Any, source: Any) -> dict[str, Any]:
        kept = tuple(c for c in children if c.name != "__typename")
        return original(self, type_name, kept, source)

    return shape


def _path_cut(original: Callable[..., None]) -> Callable[..., None]:
    def fail(out: Any, exc: Exception, sel: Any, path: list[str | int]) -> None:
        original(out, exc, sel, path[:-1])

    return fail


@pytest.mark.parametrize(
    ("bug", "document", "faults"),
    [
        pytest.param(("_shape", _aliases_ignored), CORPUS["aliases"], (None, None), id="alias key"),
        pytest.param(
            ("_shape", _typename_dropped),
            CORPUS["__typename at every level"],
            (None, None),
            id="dropped __typename",
        ),
        pytest.param(("_fail", _path_cut), CORPUS["seed"], ("503", None), id="error path element"),
    ],
)
async def test_comparison_reports_a_deliberate_shaper_bug(
    monkeypatch: pytest.MonkeyPatch,
    weather: FakeUpstream,
    joke: FakeUpstream,
    bug: tuple[str, Callable[[Any], Any]],
    document: Document,
    faults: tuple[Fault | None, Fault | None],
) -> None:
    """A small bug in the prepared path's Runner makes the comparison report a difference."""
    name, breaking = bug
    original = prepared.Runner.__dict__[name]
    async with differential_gateway(differential_settings(), weather, joke) as gateway:
        _set_faults(weather, joke, faults)
        assert await gateway.differences(document) == []
        if isinstance(original, staticmethod):
            monkeypatch.setattr(prepared.Runner, name, staticmethod(breaking(original.__func__)))
        else:
            monkeypatch.setattr(prepared.Runner, name, breaking(original))
        assert await gateway.differences(document) != []
