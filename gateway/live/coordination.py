"""Replicas sharing one Redis poll each live key once per interval between them.

Before polling a key, a replica takes a short lease on it (``SET NX PX`` for one refresh
interval): whoever gets it polls and publishes the snapshot on the key's pub/sub channel
(and keeps it as the key's last value, for feeds that start later); the others receive it.
A lease lasts exactly one interval, so two polls of a key are never closer than that.

Redis may fail. A replica that cannot reach Redis, or whose pub/sub listener is not
connected, polls on its own (``lease`` answers True): screens keep updating, at the cost
of one poll per replica instead of one in all.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Callable
from typing import Any

from gateway.live.snapshot import LiveKey, Snapshot

logger = logging.getLogger("gateway.live")

# Received: (key name, snapshot). Called on the event loop, for every key of the prefix.
Receiver = Callable[[str, Snapshot], None]
RECONNECT_SECONDS = 1.0


class RedisCoordinator:
    def __init__(
        self,
        url: str,
        *,
        prefix: str,
        lease_seconds: float,
        timeout_seconds: float = 0.2,
    ) -> None:
        from redis.asyncio import Redis  # only a replicated setup needs it

        self.prefix = f"{prefix}live:"
        self.lease_ms = max(1, int(lease_seconds * 1000))
        self.timeout_seconds = timeout_seconds
        self.owner = uuid.uuid4().hex  # lease values say which replica holds them
        self._redis: Any = Redis.from_url(
            url, socket_timeout=timeout_seconds, socket_connect_timeout=timeout_seconds
        )
        # The listener blocks on reads: a client of its own, without a read timeout.
        self._listen_redis: Any = Redis.from_url(url, socket_connect_timeout=timeout_seconds)
        self._listener: asyncio.Task[None] | None = None
        self.listening = False
        self.failures = 0

    def _channel(self, key: LiveKey) -> str:
        return f"{self.prefix}snap:{key.name}"

    async def start(self, receive: Receiver) -> None:
        self._listener = asyncio.create_task(self._listen(receive), name="live.redis.listener")

    async def lease(self, key: LiveKey) -> bool:
        """Whether this replica polls ``key`` this interval."""
        if not self.listening:
            return True  # nobody could tell us what the others polled
        try:
            async with asyncio.timeout(self.timeout_seconds):
                taken = await self._redis.set(
                    f"{self.prefix}lease:{key.name}", self.owner, nx=True, px=self.lease_ms
                )
            return bool(taken)
        except Exception:  # Redis trouble: poll here rather than not at all
            self.failures += 1
            return True

    async def publish(self, key: LiveKey, snapshot: Snapshot) -> None:
        raw = snapshot.dumps()
        try:
            async with asyncio.timeout(self.timeout_seconds):
                async with self._redis.pipeline(transaction=False) as pipe:
                    pipe.set(f"{self.prefix}last:{key.name}", raw, px=self.lease_ms * 3)
                    pipe.publish(self._channel(key), raw)
                    await pipe.execute()
        except Exception:
            self.failures += 1

    async def last(self, key: LiveKey) -> Snapshot | None:
        """The key's latest snapshot from any replica, if one is recent."""
        try:
            async with asyncio.timeout(self.timeout_seconds):
                raw = await self._redis.get(f"{self.prefix}last:{key.name}")
            return None if raw is None else Snapshot.loads(raw)
        except Exception:
            self.failures += 1
            return None

    async def _listen(self, receive: Receiver) -> None:
        pattern = f"{self.prefix}snap:*"
        start = len(f"{self.prefix}snap:")
        while True:
            pubsub = self._listen_redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.psubscribe(pattern)
                self.listening = True
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None or message.get("type") != "pmessage":
                        continue
                    channel = message["channel"]
                    name = (channel.decode() if isinstance(channel, bytes) else channel)[start:]
                    try:
                        receive(name, Snapshot.loads(message["data"]))
                    except (ValueError, KeyError, TypeError):
                        logger.warning("live.redis.bad_message channel=%s", channel)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # down or restarting: poll locally, try again soon
                if self.listening:
                    logger.warning("live.redis.listener_lost error=%s", type(exc).__name__)
                self.listening = False
                self.failures += 1
                await asyncio.sleep(RECONNECT_SECONDS)
            finally:
                self.listening = False
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
        for client in (self._redis, self._listen_redis):
            with contextlib.suppress(Exception):
                await client.aclose()
