"""The peer: Hive Gateway serving a GraphQL Mesh supergraph over the bench's two stubs.

Issue 7 measures Canaduck against a real federation gateway doing the same job, in the
same run, on the same pinned core. The peer is set up from ``node/`` (``npm ci --prefix
node``; see docs/performance-peer.md):

* ``node/peer/mesh.config.mjs``: ``mesh-compose`` turns the two stub REST services into a
  supergraph (``@omnigraph/json-schema``), weather fields renamed to Canaduck's camelCase,
  and ``fullinfo(city)`` added with ``additionalTypeDefs``;
* ``node/peer/gateway.config.mjs``: ``additionalResolvers`` resolve ``fullinfo``'s
  ``weather`` and ``joke`` as two sibling fields, fetched concurrently;
* one Node process, ``hive-gateway supergraph <file>``, pinned to the gateway's core.

The supergraph is composed at bench time into a temporary directory (it names the stubs'
ports, which change every run): nothing composed is committed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

from bench import procs

NODE_DIR = procs.REPO / "node"
NODE_MODULES = NODE_DIR / "node_modules"
BIN_DIR = NODE_MODULES / ".bin"
MESH_CONFIG = NODE_DIR / "peer" / "mesh.config.mjs"
GATEWAY_CONFIG = NODE_DIR / "peer" / "gateway.config.mjs"
TOOLS = ("mesh-compose", "hive-gateway")
COMPOSE_TIMEOUT_SECONDS = 120.0
HEALTH_PATH = "/healthcheck"  # Hive Gateway's liveness route
NAME = "hive"


def missing_reason() -> str | None:
    """Why the peer cannot run here (``None`` when it can)."""
    if shutil.which("node") is None:
        return "no `node` on PATH (Node 20 or later)"
    if not NODE_MODULES.is_dir():
        return "node/node_modules is missing: run `npm ci --prefix node`"
    absent = [tool for tool in TOOLS if not (BIN_DIR / tool).exists()]
    if absent:
        hint = "run `npm ci --prefix node`"
        return f"{', '.join(absent)} missing from node/node_modules/.bin: {hint}"
    return None


def version() -> str:
    """Hive Gateway's installed version (from its package.json), or '?'."""
    package = NODE_MODULES / "@graphql-hive" / "gateway" / "package.json"
    try:
        found: Any = json.loads(package.read_text()).get("version", "?")
    except (OSError, ValueError):
        return "?"
    return str(found)


def compose(weather: procs.Process, joke: procs.Process, directory: Path) -> Path:
    """Compose the supergraph over these stubs into ``directory``; return its path."""
    output = directory / "supergraph.graphql"
    env = {**os.environ, "WEATHER_URL": weather.url, "JOKE_URL": joke.url}
    command = [str(BIN_DIR / "mesh-compose"), "-c", str(MESH_CONFIG), "-o", str(output)]
    done = subprocess.run(  # noqa: S603 (our own command line, no shell)
        command,
        cwd=NODE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=COMPOSE_TIMEOUT_SECONDS,
        check=False,
    )
    if done.returncode != 0 or not output.is_file():
        raise RuntimeError(
            f"mesh-compose failed ({done.returncode}):\n{(done.stdout + done.stderr)[-3000:]}"
        )
    return output


def gateway(
    supergraph: Path, *, fork: int = 1, pin: bool = True, name: str = NAME
) -> procs.Process:
    """``hive-gateway supergraph <file>``: one process on the gateway's core, or with
    ``fork`` > 1 that many workers on both cores (the N-processes comparison)."""
    port = procs.free_port()
    command = [
        str(BIN_DIR / "hive-gateway"),
        "supergraph",
        str(supergraph),
        *("-c", str(GATEWAY_CONFIG), "--host", procs.LOOPBACK, "--port", str(port)),
        *("--fork", str(fork)),
    ]
    # NODE_ENV=production: how a Node server is deployed (no development-only work).
    env = {"NODE_ENV": "production"}
    cpu: int | str | None = None
    if pin:
        cpu = procs.SERVER_CPU if fork == 1 else procs.BOTH_CPUS
    return procs.Process(name, command, port=port, env=env, cpu=cpu, health_path=HEALTH_PATH)
