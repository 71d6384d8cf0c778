"""The example supergraph: Canaduck's subgraph composed with an example company subgraph.

    python -m tools.supergraph          # rewrite schema/examples/supergraph.graphql
    python -m tools.supergraph --check  # exit 1 when it does not compose, or has drifted

Composition is The Guild's ``@theguild/federation-composition`` (what Hive Gateway runs),
through ``node/compose.mjs``: install it with ``npm ci --prefix node``. When composition
fails, its own messages are printed (``CODE: message``, one per line).
``tests/federation/test_composition.py`` runs the check, so a change to the City entity
that a router could not compose fails the suite.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT / "schema"
NODE_DIR = ROOT / "node"
COMPOSE_SCRIPT = NODE_DIR / "compose.mjs"
EXAMPLE_DIR = SCHEMA_DIR / "examples"
SUPERGRAPH = EXAMPLE_DIR / "supergraph.graphql"


@dataclass(frozen=True)
class Subgraph:
    """One subgraph for composition: its name, where a router reaches it, its SDL file."""

    name: str
    url: str
    sdl: Path


# In the example, the compose service names: Canaduck's gateway and a company's `sites`.
EXAMPLE = (
    Subgraph("canaduck", "http://gateway:8000/subgraph/graphql", SCHEMA_DIR / "subgraph.graphql"),
    Subgraph("sites", "http://sites:4001/graphql", EXAMPLE_DIR / "sites.graphql"),
)


class CompositionFailed(Exception):
    """The subgraphs do not compose; the message is the composition's own."""


def compose(subgraphs: tuple[Subgraph, ...], timeout_seconds: float = 60.0) -> str:
    """The supergraph SDL of ``subgraphs``, or :class:`CompositionFailed` with its errors."""
    node = shutil.which("node")
    if node is None:
        raise FileNotFoundError("no `node` on PATH (Node 20 or later)")
    args = [str(part) for s in subgraphs for part in (s.name, s.url, s.sdl.resolve())]
    done = subprocess.run(  # noqa: S603 (our own command line, no shell)
        [node, str(COMPOSE_SCRIPT), *args],
        cwd=NODE_DIR,  # so its imports resolve in node/node_modules
        capture_output=True,
        text=True,
        timeout=timeout_seconds,
        check=False,
    )
    if done.returncode != 0:
        raise CompositionFailed(done.stderr.strip() or f"compose.mjs exited {done.returncode}")
    return done.stdout


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tools.supergraph",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--check", action="store_true", help="report failure or drift only")
    args = parser.parse_args(argv)
    try:
        supergraph = compose(EXAMPLE)
    except CompositionFailed as exc:
        print(f"composition failed:\n{exc}", file=sys.stderr)
        return 1
    relative = SUPERGRAPH.relative_to(ROOT)
    if args.check:
        if not SUPERGRAPH.exists() or SUPERGRAPH.read_text(encoding="utf-8") != supergraph:
            print(f"{relative} is out of date: run python -m tools.supergraph", file=sys.stderr)
            return 1
        return 0
    SUPERGRAPH.write_text(supergraph, encoding="utf-8")
    print(f"wrote {relative}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
