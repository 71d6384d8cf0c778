"""``/static``: the display page's files and GraphiQL's vendored ones, from the package."""

from __future__ import annotations

import os

from starlette.responses import Response
from starlette.staticfiles import PathLike, StaticFiles
from starlette.types import Scope

from gateway.pages.vendor import STATIC_DIR, VENDOR_DIR

STATIC_URL = "/static"
VENDOR_URL = f"{STATIC_URL}/vendor"


class StaticAssets(StaticFiles):
    """StaticFiles with cache headers: vendored files never change under their versioned path,
    ours may change with a deploy and are revalidated (ETag) on each load."""

    def __init__(self) -> None:
        super().__init__(directory=STATIC_DIR)

    def file_response(
        self, full_path: PathLike, stat_result: os.stat_result, scope: Scope, status_code: int = 200
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        immutable = os.path.commonpath([full_path, VENDOR_DIR]) == str(VENDOR_DIR)
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if immutable else "no-cache"
        )
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response
