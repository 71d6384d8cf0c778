"""Request-local state every layer may read: the request ID, the deadline, the record.

Set by the HTTP plumbing (``request_scope``, ``observability.middleware``) at the edge of
each request; read anywhere below without threading arguments through every call. All of
it lives in ``contextvars``, so tasks spawned by ``asyncio.gather`` inherit it.
"""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

REQUEST_ID_HEADER = "x-request-id"

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)
_deadline: ContextVar[float | None] = ContextVar("deadline", default=None)


@dataclass(slots=True)
class RequestRecord:
    """What one request did, filled in by the layers it went through."""

    operation: str | None = None  # the client's operationName: logs only
    fields: str | None = None  # root fields, e.g. "fullinfo": bounded, a metrics label
    # Per upstream used: {status, latencyMs, cache, ageSeconds}. GraphQL answers it as
    # extensions.sources, /fullinfo as "sources", and the log line carries it.
    sources: dict[str, dict[str, Any]] = field(default_factory=dict)


_record: ContextVar[RequestRecord | None] = ContextVar("request_record", default=None)


def request_id() -> str | None:
    return _request_id.get()


def deadline() -> float | None:
    """The request's deadline in event-loop time, or None outside a request."""
    return _deadline.get()


def current_record() -> RequestRecord | None:
    return _record.get()


def problem_context() -> dict[str, str]:
    """Members every REST problem of the gateway carries."""
    rid = _request_id.get()
    return {} if rid is None else {"requestId": rid}
