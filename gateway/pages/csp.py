"""Content-Security-Policy and companion headers for the HTML pages the gateway serves.

Both pages (GraphiQL and the display) load scripts, styles and data from the gateway's own
origin only. GraphiQL's page carries one inline script and one inline style, allowed by a
nonce that changes with every response (never ``'unsafe-inline'``); the display page has no
inline code at all.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable


def new_nonce() -> str:
    """A fresh CSP nonce: 128 random bits, base64url (a valid nonce-source)."""
    return secrets.token_urlsafe(16)


def content_security_policy(
    *, nonce: str | None = None, cdn: Iterable[str] = (), style_hashes: Iterable[str] = ()
) -> str:
    """Own origin only, plus what is given: a nonce for inline code, CDN origins, and the
    hashes (``'sha256-…'``) of styles a library injects without a nonce."""
    code = ["'self'", *cdn]
    if nonce is not None:
        code.append(f"'nonce-{nonce}'")
    directives = {
        "default-src": "'self'",
        "script-src": " ".join(code),
        "style-src": " ".join([*code, *style_hashes]),
        # GraphiQL's CSS embeds its fonts as data: URLs; Strawberry's favicon is one too.
        "img-src": "'self' data:",
        "font-src": "'self' data:",
        "connect-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'none'",
        "form-action": "'self'",
        "frame-ancestors": "'none'",
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


def page_headers(csp: str) -> dict[str, str]:
    """Headers for an HTML page: its policy, and no sniffing, framing or referrer leaks."""
    return {
        "Content-Security-Policy": csp,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        # Pages are small and change with a deploy; scripts are revalidated by ETag.
        "Cache-Control": "no-cache",
    }
