"""Canaduck's subgraph composes into a supergraph, and a broken SDL fails loudly."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.node import require_node
from tools.supergraph import EXAMPLE, SUPERGRAPH, CompositionFailed, Subgraph, compose


@pytest.fixture(autouse=True)
def node() -> str:
    """The composition runs in Node: skip without it (fail with CANADUCK_CI=1)."""
    return require_node()


def test_subgraph_composes_into_the_committed_example_supergraph() -> None:
    """schema/subgraph.graphql + the example sites subgraph compose to the committed file."""
    supergraph = compose(EXAMPLE)
    assert 'type City @join__type(graph: CANADUCK, key: "name")' in supergraph
    assert supergraph == SUPERGRAPH.read_text(encoding="utf-8"), (
        "run `python -m tools.supergraph` and review the diff"
    )


def test_a_broken_subgraph_fails_with_the_composition_message(tmp_path: Path) -> None:
    """A City key naming a field that does not exist fails, with the composition's words."""
    canaduck, sites = EXAMPLE
    broken = tmp_path / "subgraph.graphql"
    sdl = canaduck.sdl.read_text(encoding="utf-8")
    assert '@key(fields: "name")' in sdl
    broken.write_text(sdl.replace('@key(fields: "name")', '@key(fields: "nom")'))
    with pytest.raises(CompositionFailed) as failure:
        compose((Subgraph(canaduck.name, canaduck.url, broken), sites))
    assert str(failure.value).startswith(
        'KEY_INVALID_FIELDS: [canaduck] On type "City", for @key(fields: "nom"): '
        'Cannot query field "nom" on type "City"'
    )


def test_federation_version_above_2_9_is_refused_by_this_composition(tmp_path: Path) -> None:
    """Why the subgraph pins Federation 2.9: the same SDL linked to v2.11 does not compose."""
    canaduck, sites = EXAMPLE
    newer = tmp_path / "subgraph.graphql"
    sdl = canaduck.sdl.read_text(encoding="utf-8")
    newer.write_text(sdl.replace("federation/v2.9", "federation/v2.11"))
    with pytest.raises(CompositionFailed, match="UNKNOWN_FEDERATION_LINK_VERSION"):
        compose((Subgraph(canaduck.name, canaduck.url, newer), sites))
