"""Fixtures: every overlay rendered once per session; mutating tests take a deep copy."""

from __future__ import annotations

import copy

import pytest

from tests.k8s.manifests import OVERLAYS, Obj, render

_RENDERED: dict[str, list[Obj]] = {}


def rendered_overlay(overlay: str) -> list[Obj]:
    """The overlay's objects, rendered on first use and kept for the session."""
    if overlay not in _RENDERED:
        _RENDERED[overlay] = render(overlay)
    return _RENDERED[overlay]


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    """Each overlay under k8s/overlays/ in turn."""
    name: str = request.param
    return name


@pytest.fixture
def objects(overlay: str) -> list[Obj]:
    """The rendered objects of ``overlay`` (shared: do not mutate)."""
    return rendered_overlay(overlay)


@pytest.fixture
def prod() -> list[Obj]:
    """The rendered prod overlay (shared: do not mutate)."""
    return rendered_overlay("prod")


@pytest.fixture
def dev() -> list[Obj]:
    """The rendered dev overlay (shared: do not mutate)."""
    return rendered_overlay("dev")


@pytest.fixture
def mutable_prod() -> list[Obj]:
    """A private copy of the prod objects, to break on purpose."""
    return copy.deepcopy(rendered_overlay("prod"))
