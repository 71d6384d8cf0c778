"""The contracts in ``schema/``, generated from the code.

    python -m tools.contracts          # rewrite schema/ from the code
    python -m tools.contracts --check  # exit 1 and name the files that drifted

``tests/test_contracts.py`` runs the check, so a change to a route, a model or the GraphQL
schema fails the suite until ``schema/`` is refreshed on purpose (and reviewed in the diff).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi import FastAPI

SCHEMA_DIR = Path(__file__).resolve().parents[1] / "schema"


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=False) + "\n"


def _openapi(create_app: Callable[[], FastAPI]) -> str:
    # Building the app runs no lifespan: no socket, no database, no gazetteer load.
    return _json(create_app().openapi())


def _gateway_sdl() -> str:
    from gateway.config import GatewaySettings
    from gateway.graphql.schema import build_schema

    return build_schema(GatewaySettings()).as_str() + "\n"


def _subgraph_sdl() -> str:
    # What `_service { sdl }` answers a router: the federation schema at /subgraph/graphql.
    from gateway.config import GatewaySettings
    from gateway.graphql.subgraph import build_subgraph_schema

    return build_subgraph_schema(GatewaySettings()).as_str() + "\n"


def _gateway_openapi() -> str:
    from gateway.main import create_app

    return _openapi(create_app)


def _weather_openapi() -> str:
    from weather_service.main import create_app

    return _openapi(create_app)


def _joke_openapi() -> str:
    from joke_service.main import create_app

    return _openapi(create_app)


CONTRACTS: dict[str, Callable[[], str]] = {
    "gateway.graphql": _gateway_sdl,
    "subgraph.graphql": _subgraph_sdl,
    "gateway.openapi.json": _gateway_openapi,
    "weather.openapi.json": _weather_openapi,
    "joke.openapi.json": _joke_openapi,
}


def drifted(directory: Path = SCHEMA_DIR) -> list[str]:
    """Names of the contract files whose content differs from what the code generates."""
    stale = []
    for name, render in CONTRACTS.items():
        path = directory / name
        if not path.exists() or path.read_text(encoding="utf-8") != render():
            stale.append(name)
    return stale


def write(directory: Path = SCHEMA_DIR) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    for name, render in CONTRACTS.items():
        (directory / name).write_text(render(), encoding="utf-8")
    return list(CONTRACTS)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.contracts",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--check", action="store_true", help="report drift, write nothing")
    args = parser.parse_args(argv)
    if args.check:
        stale = drifted()
        for name in stale:
            print(f"schema/{name} is out of date: run python -m tools.contracts", file=sys.stderr)
        return 1 if stale else 0
    for name in write():
        print(f"wrote schema/{name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
