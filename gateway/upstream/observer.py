"""How the upstream layer reports what it does, without knowing who listens.

``Metrics`` (observability) implements this Protocol; tests may pass anything that does.
Keeping the dependency this way round lets ``observability`` import ``upstream`` (to read
breakers at scrape time) and never the reverse.
"""

from __future__ import annotations

from typing import Protocol


class UpstreamObserver(Protocol):
    def upstream_call(self, service: str, outcome: str, seconds: float) -> None:
        """One call that went to the network (cache hits never come here)."""

    def retry(self, service: str) -> None:
        """A second attempt granted by the retry policy."""

    def cache_event(self, service: str, result: str) -> None:
        """A cache lookup and its result (hit, miss, coalesced, stale)."""

    def cache_error(self, operation: str) -> None:
        """A cache call (get, set, ping) that failed or timed out; it read as a miss."""
