"""Documents by hash: Apollo's automatic persisted queries and trusted documents.

**APQ** (apollographql.com/docs/apollo-server/performance/apq): a client sends only
``extensions.persistedQuery.sha256Hash``; an unknown hash answers
``PERSISTED_QUERY_NOT_FOUND`` and the client sends the hash again with the query, which
registers it. Registered documents live in a bounded LRU per process (a replica that has
not seen a hash asks for it once, which APQ clients handle by design), and run through the
same prepared-operation cache as any query.

**Trusted documents** (``GATEWAY_TRUSTED_DOCUMENTS=manifest.json``): only the documents of
the manifest run; anything else is refused with ``PERSISTED_QUERY_NOT_IN_LIST``. The
manifest is either a JSON object of ``sha256 hex → document`` or Apollo's persisted query
manifest (``{"format": "apollo-persisted-query-manifest", "operations": [{"id", "body"}]}``).
A client may send the hash alone or the full text of a trusted document.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

_SHA256 = re.compile(r"[0-9a-f]{64}")


class PersistedQueryError(Exception):
    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


class ManifestError(ValueError):
    """The trusted documents manifest cannot be used (raised at start-up)."""


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def load_manifest(path: Path) -> dict[str, str]:
    """hash → document, from either manifest format; every hash is checked."""
    try:
        raw: Any = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ManifestError(f"cannot read trusted documents from {path}: {exc}") from exc
    if isinstance(raw, dict) and raw.get("format") == "apollo-persisted-query-manifest":
        pairs = [(op.get("id"), op.get("body")) for op in raw.get("operations") or []]
    elif isinstance(raw, dict):
        pairs = list(raw.items())
    else:
        raise ManifestError(f"{path}: expected a JSON object of sha256 → document")
    documents: dict[str, str] = {}
    for digest, body in pairs:
        if not isinstance(digest, str) or not isinstance(body, str):
            raise ManifestError(f"{path}: every entry needs a hash and a document string")
        if sha256(body) != digest.lower():
            raise ManifestError(f"{path}: the hash {digest} is not the sha256 of its document")
        documents[digest.lower()] = body
    return documents


class PersistedQueries:
    """Turns a request's ``query`` + ``extensions`` into the document text to run."""

    def __init__(
        self, *, trusted: Mapping[str, str] | None = None, apq: bool = True, maxsize: int = 1000
    ) -> None:
        self.trusted = dict(trusted) if trusted is not None else None
        self.apq = apq
        self.maxsize = maxsize
        self._registered: OrderedDict[str, str] = OrderedDict()

    def resolve(self, query: str | None, extensions: Mapping[str, Any] | None) -> str:
        persisted = (extensions or {}).get("persistedQuery")
        if persisted is None:
            assert query is not None  # the endpoint refuses a request with neither
            if self.trusted is not None and sha256(query) not in self.trusted:
                raise _not_in_list()
            return query
        digest = _digest(persisted)
        if self.trusted is not None:
            document = self.trusted.get(digest)
            if document is None or (query is not None and query != document):
                raise _not_in_list()
            return document
        if not self.apq:
            raise PersistedQueryError(
                "PERSISTED_QUERY_NOT_SUPPORTED", "PersistedQueryNotSupported", 400
            )
        if query is None:
            found = self._registered.get(digest)
            if found is None:
                # 200 under application/json, as Apollo Server answers: clients read the code.
                raise PersistedQueryError(
                    "PERSISTED_QUERY_NOT_FOUND", "PersistedQueryNotFound", 200
                )
            self._registered.move_to_end(digest)
            return found
        if sha256(query) != digest:
            raise PersistedQueryError(
                "PERSISTED_QUERY_HASH_MISMATCH", "The sha256Hash is not the hash of the query."
            )
        self._registered[digest] = query
        self._registered.move_to_end(digest)
        if len(self._registered) > self.maxsize:
            self._registered.popitem(last=False)
        return query


def _digest(persisted: Any) -> str:
    if not isinstance(persisted, dict) or persisted.get("version") != 1:
        raise PersistedQueryError(
            "PERSISTED_QUERY_NOT_SUPPORTED", "Only persistedQuery version 1 is supported."
        )
    digest = persisted.get("sha256Hash")
    if not isinstance(digest, str) or not _SHA256.fullmatch(digest.lower()):
        raise PersistedQueryError(
            "PERSISTED_QUERY_NOT_SUPPORTED", "sha256Hash must be 64 hexadecimal characters."
        )
    return digest.lower()


def _not_in_list() -> PersistedQueryError:
    return PersistedQueryError(
        "PERSISTED_QUERY_NOT_IN_LIST",
        "This gateway runs only trusted documents; this one is not in its list.",
    )
