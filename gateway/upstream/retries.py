"""When a failed upstream call may be tried once more.

Narrow on purpose (Apollo/Cosmo/Envoy agree): reads only (every upstream call is a GET),
only for failures that say "try again" (connection refused, 429, 502, 503, 504; never a
timeout, which already spent the deadline), only while enough of the deadline remains, and
only within a budget so retries cannot multiply load on a struggling service.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Generic, Protocol, TypeVar, cast

import stamina

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


class _HasStatus(Protocol):
    @property
    def status_code(self) -> int: ...


R = TypeVar("R", bound=_HasStatus)


class _RetryableStatus(Exception, Generic[R]):
    def __init__(self, response: R) -> None:
        super().__init__(f"upstream answered {response.status_code}")
        self.response = response


class RetryPolicy:
    """At most ``retries`` more attempts of an upstream call, by the rules above."""

    def __init__(
        self,
        *,
        retries: int,
        budget_ratio: float,
        min_remaining_seconds: float,
        on_retry: Callable[[], None] = lambda: None,
    ) -> None:
        self.retries = retries
        self.min_remaining_seconds = min_remaining_seconds
        self.budget = RetryBudget(ratio=budget_ratio)
        self.on_retry = on_retry

    async def run(
        self,
        attempt: Callable[[], Awaitable[R]],
        *,
        deadline: float,
        says_try_again: Callable[[Exception], bool],
    ) -> R:
        """``attempt()``, again if it fails in a way ``says_try_again`` (or with a retryable
        status) and the deadline (loop time) and the budget allow. The last answer stands."""
        self.budget.record_call()
        try:
            response = await attempt()
        except Exception as exc:
            if not says_try_again(exc) or not self.retries:
                raise
            first_failure: Exception = exc
        else:
            if response.status_code not in RETRYABLE_STATUSES or not self.retries:
                return response
            first_failure = _RetryableStatus(response)
        # Only a failed first attempt pays for a retry context (it costs as much as the
        # rest of a successful call). stamina replays that failure as its first attempt,
        # asks may_retry, waits 50–150 ms (jittered) and makes the next attempt.
        loop = asyncio.get_running_loop()
        retries_left = self.retries

        def may_retry(exc: Exception) -> bool:
            # stamina asks after every failed attempt, the last one included: count here.
            nonlocal retries_left
            if (
                retries_left == 0
                or not (isinstance(exc, _RetryableStatus) or says_try_again(exc))
                or deadline - loop.time() < self.min_remaining_seconds
                or not self.budget.try_spend()
            ):
                return False
            retries_left -= 1
            self.on_retry()
            return True

        try:
            async for stamina_attempt in stamina.retry_context(
                on=may_retry,
                attempts=1 + self.retries,
                timeout=None,
                wait_initial=0.05,
                wait_max=0.15,
                wait_jitter=0.1,
            ):
                with stamina_attempt:
                    if stamina_attempt.num == 1:
                        raise first_failure
                    response = await attempt()
                    if response.status_code in RETRYABLE_STATUSES:
                        raise _RetryableStatus(response)
                    return response
        except _RetryableStatus as exc:
            return cast(R, exc.response)  # the last answer stands; callers map its status
        raise AssertionError("stamina ended without an attempt")  # pragma: no cover
