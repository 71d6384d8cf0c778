"""When a failed upstream call may be tried once more.

Narrow on purpose (Apollo/Cosmo/Envoy agree): reads only (every upstream call is a GET),
only for failures that say "try again" (connection refused, 429, 502, 503, 504; never a
timeout, which already spent the deadline), only while enough of the deadline remains, and
only within a budget so retries cannot multiply load on a struggling service.
"""

from __future__ import annotations

RETRYABLE_STATUSES = frozenset({429, 502, 503, 504})


class RetryBudget:
    """Retries earn ``ratio`` of a token per first attempt and spend one each.

    Starting empty and capped at ``max_tokens``, retries never exceed ``ratio`` × calls
    (plus nothing) over any stretch, and a quiet period banks at most ``max_tokens``.
    """

    def __init__(self, *, ratio: float, max_tokens: float = 10.0) -> None:
        self.ratio = ratio
        self.max_tokens = max_tokens
        self._tokens = 0.0

    def record_call(self) -> None:
        self._tokens = min(self.max_tokens, self._tokens + self.ratio)

    def try_spend(self) -> bool:
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False
