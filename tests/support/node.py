"""The project's Node tools (``node/``) for tests: a skip locally, a failure in CI.

``npm ci --prefix node`` installs them into ``node/node_modules`` (what ``.ci/run`` does).
A developer without Node or without that install still gets a green, honest run: the tests
that need them skip and say what is missing. CI sets ``CANADUCK_CI=1``, where the same gap
fails instead of passing unnoticed.

    from tests.support.node import require_node, node_tool

    node = require_node("hive-gateway")        # skips (or fails in CI) when missing
    subprocess.run([node_tool("hive-gateway"), "supergraph", str(path), ...])
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from tests.support.prerequisites import require

REPO = Path(__file__).resolve().parents[2]
NODE_DIR = REPO / "node"
NODE_MODULES = NODE_DIR / "node_modules"
BIN_DIR = NODE_MODULES / ".bin"
INSTALL_HINT = "run `npm ci --prefix node`"


def node_executable() -> str | None:
    """The ``node`` on PATH, if any."""
    return shutil.which("node")


def node_tool(name: str) -> Path:
    """``node/node_modules/.bin/<name>`` (it may not exist: see :func:`missing`)."""
    return BIN_DIR / name


def node_script(name: str) -> Path:
    """A committed script of ``node/``, such as ``audit.mjs``."""
    return NODE_DIR / name


def missing(*tools: str) -> str | None:
    """Why the Node tools cannot run here (``None`` when they can)."""
    if node_executable() is None:
        return "no `node` on PATH (Node 20 or later: apt-get install nodejs npm)"
    if not NODE_MODULES.is_dir():
        return f"{NODE_MODULES.relative_to(REPO)} is missing: {INSTALL_HINT}"
    absent = [tool for tool in tools if not node_tool(tool).exists()]
    if absent:
        return f"{', '.join(absent)} missing from {BIN_DIR.relative_to(REPO)}: {INSTALL_HINT}"
    return None


def require_node(*tools: str) -> str:
    """The ``node`` executable, or skip the test saying what is missing (fail in CI)."""
    reason = missing(*tools)
    require(reason is None, reason or "")
    node = node_executable()
    assert node is not None
    return node


def run_script(
    name: str, *args: str, timeout_seconds: float = 60.0
) -> subprocess.CompletedProcess[str]:
    """``node node/<name> args…`` from ``node/`` (so its imports resolve), bounded in time."""
    node = require_node()
    return subprocess.run(
        [node, str(node_script(name)), *args],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=timeout_seconds,
        check=False,
    )
