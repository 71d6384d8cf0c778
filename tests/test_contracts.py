"""The contracts in schema/ match the code."""

from __future__ import annotations

from pathlib import Path

from tools.contracts import CONTRACTS, drifted, write


def test_schema_directory_matches_the_code() -> None:
    """schema/ holds what the code generates today (refresh: python -m tools.contracts)."""
    assert drifted() == [], "run `python -m tools.contracts` and review the diff"


def test_drift_is_detected(tmp_path: Path) -> None:
    """A hand edit of a contract file is reported as drift."""
    write(tmp_path)
    assert drifted(tmp_path) == []
    sdl = tmp_path / "gateway.graphql"
    sdl.write_text(sdl.read_text().replace("temperature", "temp"))
    assert drifted(tmp_path) == ["gateway.graphql"]


def test_every_contract_is_checked_in() -> None:
    """schema/ holds exactly the generated contracts, nothing stale beside them."""
    schema_dir = Path(__file__).resolve().parents[1] / "schema"
    # schema/examples/ holds the federation example (checked by tests/federation).
    assert sorted(p.name for p in schema_dir.iterdir() if p.is_file()) == sorted(CONTRACTS)
