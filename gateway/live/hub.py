"""Live feeds: one shared poller per key, fanned out to bounded subscriber queues.

    LiveHub ── one Feed per LiveKey (city folded, lang, country)
               ├── started by its first subscriber, stopped ``linger`` seconds after its last
               ├── polls every refresh interval (``poll``), or hears another replica's poll
               │   (``coordination``), and keeps the latest snapshot
               └── offers a snapshot to every subscriber only when its content changed

Each subscriber has a queue of ``queue_size`` snapshots. A subscriber whose queue is full
is not waited for: it is dropped (its ``on_overflow`` closes its connection with a
reason), so one stalled screen costs a bounded amount of memory and slows nobody else.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field

from prometheus_client import CollectorRegistry

from gateway.config import GatewaySettings
from gateway.errors import ApiError
from gateway.live.coordination import RedisCoordinator
from gateway.live.metrics import LiveMetrics
from gateway.live.poll import poll
from gateway.live.snapshot import LiveKey, Snapshot
from gateway.upstream.services import Upstreams

logger = logging.getLogger("gateway.live")


class TooManyFeeds(ApiError):
    """Each feed polls on its own: their number is what subscriptions cost upstream."""

    status_code = 503
    code = "TOO_MANY_LIVE_FEEDS"
    title = "Too many live feeds"


@dataclass(eq=False)
class Subscriber:
    """One subscription's inbox: the snapshots it has not taken yet, bounded."""

    queue: asyncio.Queue[Snapshot]
    on_overflow: Callable[[], None]
    dropped: bool = False

    def offer(self, snapshot: Snapshot) -> None:
        if self.dropped:
            return
        try:
            self.queue.put_nowait(snapshot)
        except asyncio.QueueFull:
            self.dropped = True
            self.on_overflow()

    async def next(self) -> Snapshot:
        return await self.queue.get()


@dataclass(eq=False)
class Feed:
    key: LiveKey
    city: str  # as the first subscriber spelled it (the services fold it the same way)
    subscribers: set[Subscriber] = field(default_factory=set)
    latest: Snapshot | None = None
    task: asyncio.Task[None] | None = None
    stop_handle: asyncio.TimerHandle | None = None
    polls: int = 0

    def accept(self, snapshot: Snapshot) -> None:
        """Keep ``snapshot``; offer it to everyone if its content changed. Snapshots come in
        poll order (one poller per key per interval; pub/sub keeps order), so no timestamp
        comparison, which clock skew between replicas would make wrong."""
        changed = not snapshot.same_content(self.latest)
        self.latest = snapshot
        if changed:
            for subscriber in list(self.subscribers):
                subscriber.offer(snapshot)


class LiveHub:
    """Every live feed of this process."""

    def __init__(
        self, settings: GatewaySettings, *, registry: CollectorRegistry | None = None
    ) -> None:
        """``registry``: where the live series go (none: not exported, as in unit tests)."""
        self.settings = settings
        self.metrics = LiveMetrics(registry or CollectorRegistry())
        self.metrics.watch(lambda: len(self.feeds), lambda: self.subscriber_count)
        self.refresh_seconds = settings.live_refresh_seconds
        self.feeds: dict[LiveKey, Feed] = {}
        self.upstreams: Upstreams | None = None
        self.coordinator: RedisCoordinator | None = None

    async def open(self, stack: AsyncExitStack, upstreams: Upstreams) -> None:
        """Start serving feeds over ``upstreams``; ``stack`` stops every poller."""
        self.upstreams = upstreams
        if self.settings.cache_url:
            self.coordinator = RedisCoordinator(
                self.settings.cache_url,
                prefix=self.settings.cache_key_prefix,
                lease_seconds=self.refresh_seconds,
            )
            await self.coordinator.start(self._heard)
        stack.push_async_callback(self.close)

    @property
    def subscriber_count(self) -> int:
        return sum(len(feed.subscribers) for feed in self.feeds.values())

    @asynccontextmanager
    async def subscribe(
        self, key: LiveKey, city: str, on_overflow: Callable[[], None]
    ) -> AsyncIterator[Subscriber]:
        """A subscriber to ``key``'s feed (started if needed); it gets the latest snapshot
        at once when there is one, then every change."""
        subscriber = Subscriber(asyncio.Queue(self.settings.live_queue_size), on_overflow)
        feed = self.feeds.get(key)
        if feed is None and len(self.feeds) >= self.settings.live_max_feeds:
            raise TooManyFeeds(
                f"The gateway already follows {len(self.feeds)} cities live (its limit); "
                "subscribe to one of them, or try again later.",
                extra={"limit": self.settings.live_max_feeds, "retryable": True},
            )
        if feed is None:
            feed = self.feeds[key] = Feed(key, city)
            # A clean context: the poller outlives the request that started it, and must
            # not inherit its deadline, request ID or request record.
            feed.task = asyncio.get_running_loop().create_task(
                self._run(feed), name=f"live.feed.{key.name}", context=contextvars.Context()
            )
            logger.info("live.feed.started key=%s feeds=%d", key.name, len(self.feeds))
        if feed.stop_handle is not None:
            feed.stop_handle.cancel()
            feed.stop_handle = None
        feed.subscribers.add(subscriber)
        if feed.latest is not None:
            subscriber.offer(feed.latest)
        try:
            yield subscriber
        finally:
            feed.subscribers.discard(subscriber)
            if not feed.subscribers and self.feeds.get(key) is feed:
                feed.stop_handle = asyncio.get_running_loop().call_later(
                    self.settings.live_linger_seconds, self._stop_if_unused, feed
                )

    def _stop_if_unused(self, feed: Feed) -> None:
        if feed.subscribers or self.feeds.get(feed.key) is not feed:
            return
        del self.feeds[feed.key]
        if feed.task is not None:
            feed.task.cancel()
        logger.info("live.feed.stopped key=%s polls=%d", feed.key.name, feed.polls)

    def _heard(self, name: str, snapshot: Snapshot) -> None:
        for feed in self.feeds.values():
            if feed.key.name == name:
                feed.accept(snapshot)
                return

    async def _run(self, feed: Feed) -> None:
        assert self.upstreams is not None
        loop = asyncio.get_running_loop()
        if self.coordinator is not None and feed.latest is None:
            last = await self.coordinator.last(feed.key)
            if last is not None:
                feed.accept(last)
        while True:
            started = loop.time()
            try:
                if self.coordinator is None or await self.coordinator.lease(feed.key):
                    snapshot = await poll(
                        self.upstreams,
                        feed.key,
                        feed.city,
                        feed.latest,
                        joke_seconds=self.settings.live_joke_seconds,
                        refresh_seconds=self.refresh_seconds,
                        weather_ttl_seconds=self.settings.cache_weather_ttl_seconds,
                    )
                    feed.polls += 1
                    self.metrics.polls.inc()
                    feed.accept(snapshot)
                    if self.coordinator is not None:
                        await self.coordinator.publish(feed.key, snapshot)
            except asyncio.CancelledError:
                raise
            except Exception:  # never let one bad poll end the feed
                logger.exception("live.feed.failed key=%s", feed.key.name)
            await asyncio.sleep(max(0.0, self.refresh_seconds - (loop.time() - started)))

    async def close(self) -> None:
        tasks = [feed.task for feed in self.feeds.values() if feed.task is not None]
        for feed in self.feeds.values():
            if feed.stop_handle is not None:
                feed.stop_handle.cancel()
        self.feeds.clear()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.coordinator is not None:
            await self.coordinator.close()
