"""httpx's transport over a connection pool that gives an idle connection to one request.

httpcore 1.0.9's pool offers the *same* idle HTTP/1.1 connection to every request queued in
an assignment pass (a connection stays "available" until a request starts on it). All but
one of them then fail with ``ConnectionNotAvailable``, go back to the queue and try again,
each round costing event-loop turns. Measured on the gateway at 50 concurrent ``fullinfo``
calls: 3.6 attempts per upstream call, time to response headers p99 2.0 s (0.36 s without
the churn), and weather answers lost to the 2.5 s deadline although the weather service
answered in a millisecond (tests/e2e/test_faults.py, the dead-joke test).

Upstream: encode/httpcore#1035 ("Bug 2", open), fixed in the pydantic/httpx2 fork by #1075;
encode/httpx#3215. ``OneRequestPerConnectionPool`` keeps httpcore's algorithm and changes
only that: a connection already handed to a request is not offered again, and each pass
gives a connection to one request. Delete this module once httpcore ships the fix.
"""

from __future__ import annotations

import httpcore
import httpx


class OneRequestPerConnectionPool(httpcore.AsyncConnectionPool):
    """HTTP/1.1 only (the gateway never asks for HTTP/2, whose streams could share)."""

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        for connection in list(self._connections):
            if connection.is_closed():
                self._connections.remove(connection)
            elif connection.has_expired():
                self._connections.remove(connection)
                closing.append(connection)

        # Handed to a request that has not started on it yet: idle-looking, but spoken for.
        taken = {id(r.connection) for r in self._requests if r.connection is not None}
        free = [c for c in self._connections if id(c) not in taken and c.is_available()]

        # Keep at most max_keepalive idle connections (httpcore compares the total count).
        idle = [connection for connection in free if connection.is_idle()]
        for connection in idle[: max(0, len(idle) - self._max_keepalive_connections)]:
            free.remove(connection)
            self._connections.remove(connection)
            closing.append(connection)

        for request in [request for request in self._requests if request.is_queued()]:
            origin = request.request.url.origin
            reusable = next((c for c in free if c.can_handle_request(origin)), None)
            if reusable is not None:
                free.remove(reusable)
                request.assign_to_connection(reusable)
                continue
            if len(self._connections) >= self._max_connections:
                # Full: make room by closing an idle connection to another origin, if any.
                victim = next((c for c in free if c.is_idle()), None)
                if victim is None:
                    continue  # stays queued until a connection is released
                free.remove(victim)
                self._connections.remove(victim)
                closing.append(victim)
            connection = self.create_connection(origin)
            self._connections.append(connection)
            request.assign_to_connection(connection)
        return closing


class UpstreamTransport(httpx.AsyncHTTPTransport):
    """``httpx.AsyncHTTPTransport`` with the pool above in place of httpcore's own."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        # The same arguments httpx gives its own pool (httpx/_transports/default.py).
        self._pool = OneRequestPerConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
        )
