"""Live series on the gateway's registry: connections, feeds, subscribers, polls, drops."""

from __future__ import annotations

from collections.abc import Callable

from prometheus_client import CollectorRegistry, Counter, Gauge


class LiveMetrics:
    def __init__(self, registry: CollectorRegistry | None) -> None:
        self.connections = Gauge(
            "canaduck_live_connections",
            "Open WebSocket and SSE connections on /graphql",
            registry=registry,
        )
        self.polls = Counter(
            "canaduck_live_polls",
            "Polls made by this replica's live feeds (the others' arrive over Redis)",
            registry=registry,
        )
        self.dropped = Counter(
            "canaduck_live_connections_dropped",
            "Live connections refused (limit) or dropped (slow consumer)",
            ["reason"],
            registry=registry,
        )
        self._feeds = Gauge("canaduck_live_feeds", "Live feeds polling", registry=registry)
        self._subscribers = Gauge(
            "canaduck_live_subscribers", "Subscriptions following a live feed", registry=registry
        )

    def watch(self, feeds: Callable[[], int], subscribers: Callable[[], int]) -> None:
        self._feeds.set_function(lambda: float(feeds()))
        self._subscribers.set_function(lambda: float(subscribers()))
