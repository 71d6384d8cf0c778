"""The Traefik rule evaluator the routing tests rely on: it must judge rules as Traefik does."""

from __future__ import annotations

import pytest

from tests.deploy.rules import Request, RuleError, matches


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/weather", True),
        ("/weather?city=Rodez", True),
        ("/weather/", False),
        ("/weatherx", False),
        ("/Weather", False),
    ],
)
def test_path_matches_the_exact_path_only(target: str, expected: bool) -> None:
    """Path(`/weather`) takes /weather with any query string, and nothing longer."""
    assert matches("Path(`/weather`)", Request.get(target)) is expected


@pytest.mark.parametrize(
    ("target", "expected"), [("/static/a.js", True), ("/static/", True), ("/static", False)]
)
def test_path_prefix_matches_a_string_prefix(target: str, expected: bool) -> None:
    """PathPrefix(`/static/`) takes every path that starts with /static/."""
    assert matches("PathPrefix(`/static/`)", Request.get(target)) is expected


def test_operators_follow_precedence_and_parentheses() -> None:
    """&& binds tighter than ||, ! negates, and parentheses group."""
    rule = "Path(`/a`) || Path(`/b`) && Host(`x.test`)"
    assert matches(rule, Request.get("/a", host="other.test"))
    assert not matches(rule, Request.get("/b", host="other.test"))
    assert not matches("(Path(`/a`) || Path(`/b`)) && !Host(`x.test`)", Request.get("/a", "x.test"))


def test_host_ignores_case_and_port() -> None:
    """Host(`Example.test`) takes a request for example.test:80."""
    assert matches("Host(`Example.test`)", Request.get("/", host="example.test:80"))


@pytest.mark.parametrize(
    "rule",
    [
        "Path(`/a`, `/b`)",  # v2 multi-argument form, rejected by v3
        "PathRegexp(`^/a`)",  # not judged by this evaluator
        "Path(`/a`) ||",
        "Path(/a)",
        "",
    ],
)
def test_rules_it_cannot_judge_are_errors(rule: str) -> None:
    """Invalid v3 syntax or an unsupported matcher raises instead of guessing."""
    with pytest.raises(RuleError):
        matches(rule, Request.get("/a"))


def test_header_matchers_take_a_name_and_a_value() -> None:
    """Header matches one value exactly (any case of the name); HeaderRegexp searches values."""
    sse = Request.get("/graphql", headers={"accept": "application/json, text/event-stream"})
    assert matches("HeaderRegexp(`Accept`, `text/event-stream`)", sse)
    assert not matches("Header(`Accept`, `text/event-stream`)", sse)
    upgrade = Request.get("/", headers={"Upgrade": "websocket"})
    assert matches("Header(`Upgrade`, `websocket`)", upgrade)
    assert not matches("HeaderRegexp(`Upgrade`, `^websocket$`)", Request.get("/"))
