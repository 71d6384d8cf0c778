"""The gateway's layer rule: a module imports only from its own layer or lower ones.

    0 base        config, errors, context                 (and canaduck.*)
    1 upstream/   the services behind us: client, cache, breaker, retries
    2 leaves      observability.metrics, pages helpers (vendor, csp, static files)
    3 plumbing    dependencies, request_scope, observability.middleware, live/
    4 front doors graphql/, rest/, pages (display, GraphiQL), observability.routes
    5 wiring      main, __main__, the assets CLI

docs/architecture.md explains the map; this test keeps it true.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

GATEWAY = Path(__file__).resolve().parents[2] / "gateway"

LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (0, ("gateway.config", "gateway.errors", "gateway.context")),
    (1, ("gateway.upstream",)),
    (
        2,
        (
            "gateway.observability",  # the package (its __init__), then each module below
            "gateway.observability.metrics",
            "gateway.pages.vendor",
            "gateway.pages.csp",
            "gateway.pages.static_files",
        ),
    ),
    (
        3,
        (
            "gateway.dependencies",
            "gateway.request_scope",
            "gateway.shedding",  # load shedding and the shutdown drain
            "gateway.observability.middleware",
            "gateway.live",  # shared polling for subscriptions, and its connection gate
        ),
    ),
    (4, ("gateway.graphql", "gateway.rest", "gateway.pages", "gateway.observability.routes")),
    (5, ("gateway.main", "gateway.__main__", "gateway.assets")),
]


def layer(module: str) -> int:
    """The layer of ``module``: the most specific prefix wins."""
    if module == "gateway":  # the package's own __init__
        return 5
    best: tuple[int, int] | None = None  # (prefix length, layer)
    for number, prefixes in LAYERS:
        for prefix in prefixes:
            matches = module == prefix or module.startswith(prefix + ".")
            if matches and (best is None or len(prefix) > best[0]):
                best = (len(prefix), number)
    if best is None:
        raise AssertionError(f"{module} has no layer: add it to LAYERS")
    return best[1]


def module_name(path: Path) -> str:
    parts = path.relative_to(GATEWAY.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_module(name: str) -> bool:
    path = GATEWAY.parent.joinpath(*name.split("."))
    return path.with_suffix(".py").exists() or (path / "__init__.py").exists()


def gateway_imports(path: Path) -> set[str]:
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "gateway" or node.module.startswith("gateway."):
                for alias in node.names:  # a submodule imported by name, or a name
                    sub = f"{node.module}.{alias.name}"
                    imported.add(sub if is_module(sub) else node.module)
        elif isinstance(node, ast.Import):
            imported |= {a.name for a in node.names if a.name.startswith("gateway.")}
    return imported


MODULES = sorted(GATEWAY.rglob("*.py"))


def test_every_module_is_checked() -> None:
    """The scan finds the gateway's modules (guards the test below against passing on nothing)."""
    names = {module_name(path) for path in MODULES}
    assert {"gateway.main", "gateway.upstream.client", "gateway.graphql.schema"} <= names


@pytest.mark.parametrize("path", MODULES, ids=module_name)
def test_imports_respect_the_layers(path: Path) -> None:
    """A module imports nothing from a layer above its own."""
    own = layer(module_name(path))
    upward = sorted(m for m in gateway_imports(path) if layer(m) > own)
    assert not upward, f"{module_name(path)} (layer {own}) imports from above: {upward}"


def test_a_violation_is_caught() -> None:
    """The rule itself bites: upstream code importing a front door is refused."""
    assert layer("gateway.graphql.schema") > layer("gateway.upstream.client")
