"""A company's own subgraph for the federation tests: sites, each naming the city it is in.

    python -m tests.federation.sites --host 127.0.0.1 --port N

``City`` is a stub here (``resolvable: false``): this subgraph only hands out references,
and the router asks Canaduck for the rest. The sites repeat cities, in another case too
(``rodez``), and one city no weather service knows (``Nowhere``, the stub's unknown city).
"""

from __future__ import annotations

import argparse

import strawberry
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from strawberry import federation
from strawberry.asgi import GraphQL
from strawberry.federation.schema_directives import Key
from strawberry.federation.types import FieldSet

SITES = [
    ("1", "Usine de Rodez", "Rodez"),
    ("2", "Dépôt d'Honolulu", "Honolulu"),
    ("3", "Atelier de Rodez", "rodez"),
    ("4", "Site fantôme", "Nowhere"),
    ("5", "Bureau d'Honolulu", "Honolulu"),
    ("6", "Comptoir de Tombouctou", "Tombouctou"),
]


@federation.type(keys=[Key(fields=FieldSet("name"), resolvable=False)])
class City:
    name: str


@federation.type(keys=["id"])
class Site:
    id: strawberry.ID
    name: str
    city: City | None


@strawberry.type
class Query:
    @strawberry.field
    def sites(self) -> list[Site]:
        return [Site(id=strawberry.ID(i), name=name, city=City(name=c)) for i, name, c in SITES]

    @strawberry.field(description="`count` sites over `cities` distinct cities (for bounds).")
    def many_sites(self, count: int, cities: int) -> list[Site]:
        return [
            Site(id=strawberry.ID(str(n)), name=f"Site {n}", city=City(name=f"Ville {n % cities}"))
            for n in range(count)
        ]


schema = federation.Schema(query=Query, federation_version="2.9")


async def health(_: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def create_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/health", health),
            Route("/graphql", GraphQL(schema), methods=["GET", "POST"]),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.federation.sites")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(create_app(), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
