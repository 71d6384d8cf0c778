"""Things some tests need that a fresh checkout may lack: a skip locally, a failure in CI.

A developer who has not run ``python -m gateway.assets`` or installed Chromium still gets a
green, honest run (the skip says what is missing); CI sets ``CANADUCK_CI=1``, where the
same gap must fail instead of passing unnoticed.
"""

from __future__ import annotations

import shutil

from gateway.assets import GRAPHIQL_ASSETS, VENDOR_DIR, missing
from tests.support.prerequisites import require

CHROMIUM = "/usr/bin/chromium"


def require_graphiql_assets() -> None:
    absent = missing(GRAPHIQL_ASSETS, VENDOR_DIR)
    require(
        not absent,
        f"{len(absent)} GraphiQL files missing from {VENDOR_DIR}: run `python -m gateway.assets`",
    )


def require_chromium() -> None:
    require(
        shutil.which(CHROMIUM) is not None,
        f"no browser at {CHROMIUM}: apt-get install chromium",
    )
