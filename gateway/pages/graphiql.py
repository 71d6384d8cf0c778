"""Strawberry's GraphiQL page, served with its files from the gateway itself.

Strawberry's page loads React and GraphiQL from unpkg.com, so on an offline factory network
it stays blank. When ``python -m gateway.assets`` has put the pinned files under
``/static/vendor``, this router serves the same page with those seven URLs made local; the
``integrity`` attributes stay, so the browser still checks every byte. When the files are
missing, it says so in the log once and serves Strawberry's CDN page unchanged.

Strawberry offers no setting for the asset base URL (strawberry#3826), hence the override
of ``render_graphql_ide``, which its FastAPI docs describe.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from starlette.requests import Request
from starlette.responses import HTMLResponse
from strawberry.fastapi import GraphQLRouter
from strawberry.schema import BaseSchema

from gateway.pages.csp import content_security_policy, new_nonce, page_headers
from gateway.pages.static_files import VENDOR_URL
from gateway.pages.vendor import CDN, GRAPHIQL_ASSETS, VENDOR_DIR, Asset, missing

logger = logging.getLogger("gateway.pages.graphiql")

ContextT = TypeVar("ContextT")
RootValueT = TypeVar("RootValueT")

# react-remove-scroll-bar, inside graphiql.min.js, injects one <style> when a dialog opens
# and cannot be handed our nonce (webpack keeps it internal). On Strawberry's page its text
# is fixed (the body is overflow:hidden, so the scrollbar gap is always 0px): allow that
# text by its hash. A browser test opens a dialog and fails on any CSP violation.
SCROLL_LOCK_STYLE_HASH = "'sha256-Y/huXlwoYkVyQlxwSVcCi1RCDGDCSVBzDt0hYP9qlTc='"

_NONCE = "__CSP_NONCE__"
# The page's own inline code: tags without attributes (the asset tags all have some).
_INLINE_TAG = re.compile(r"<(script|style)>")


class PageMismatch(Exception):
    """Strawberry's page does not load exactly the pinned assets (after an upgrade)."""


def localize(html: str, assets: Sequence[Asset] = GRAPHIQL_ASSETS, base: str = VENDOR_URL) -> str:
    """Strawberry's page with each pinned CDN URL replaced by its local copy."""
    for asset in assets:
        if html.count(f'"{asset.cdn_url}"') != 1:
            raise PageMismatch(f"the page does not load {asset.cdn_url}")
        html = html.replace(f'"{asset.cdn_url}"', f'"{base}/{asset.name}"')
    if CDN in html:
        raise PageMismatch(f"the page loads files from {CDN} that are not pinned")
    return html


@dataclass(frozen=True)
class GraphiQLPage:
    """The page as a template whose inline code awaits a per-response nonce."""

    template: str
    cdn: tuple[str, ...] = ()

    @classmethod
    def build(cls, html: str, *, local: bool) -> GraphiQLPage:
        html = localize(html) if local else html
        return cls(_INLINE_TAG.sub(rf'<\1 nonce="{_NONCE}">', html), () if local else (CDN,))

    def render(self) -> HTMLResponse:
        nonce = new_nonce()
        csp = content_security_policy(
            nonce=nonce, cdn=self.cdn, style_hashes=[SCROLL_LOCK_STYLE_HASH]
        )
        return HTMLResponse(self.template.replace(_NONCE, nonce), headers=page_headers(csp))


class OfflineGraphQLRouter(GraphQLRouter[ContextT, RootValueT]):
    """A ``GraphQLRouter`` whose GraphiQL page loads its files from ``/static/vendor``."""

    def __init__(self, schema: BaseSchema, *, vendor_dir: Path = VENDOR_DIR, **kwargs: Any) -> None:
        super().__init__(schema, **kwargs)
        self.page: GraphiQLPage | None = None
        if self.graphql_ide == "graphiql":
            self.page = self._build_page(vendor_dir)

    def _build_page(self, vendor_dir: Path) -> GraphiQLPage:
        html = self.graphql_ide_html
        absent = missing(GRAPHIQL_ASSETS, vendor_dir)
        if absent:
            logger.warning(
                "graphiql.assets.missing missing=%d/%d dir=%s: /graphql serves the CDN page, "
                "blank without internet access; run `python -m gateway.assets` to fix",
                len(absent),
                len(GRAPHIQL_ASSETS),
                vendor_dir,
            )
            return GraphiQLPage.build(html, local=False)
        try:
            return GraphiQLPage.build(html, local=True)
        except PageMismatch as exc:
            logger.warning(
                "graphiql.page.mismatch %s: /graphql serves the CDN page; "
                "re-pin GRAPHIQL_ASSETS in gateway/assets.py for this strawberry-graphql",
                exc,
            )
            return GraphiQLPage.build(html, local=False)

    async def render_graphql_ide(self, request: Request) -> HTMLResponse:
        if self.page is None:  # another IDE was chosen: Strawberry's page as it comes
            return await super().render_graphql_ide(request)
        return self.page.render()
