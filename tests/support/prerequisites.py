"""The one rule for tests that need something a machine may lack (Redis, Node, Chromium,
kubectl, GraphiQL's files): skip with the reason on a user's machine, fail in CI, where
``.ci/run`` sets ``CANADUCK_CI=1`` so a missing install step cannot hide behind a skip."""

from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CANADUCK_CI") == "1"


def require(condition: bool, reason: str) -> None:
    """Skip the test with ``reason`` when ``condition`` is false (fail under CANADUCK_CI=1)."""
    if condition:
        return
    if in_ci():
        pytest.fail(f"{reason} (CANADUCK_CI=1 makes this a failure)")
    pytest.skip(reason)
