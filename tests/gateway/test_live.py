"""Live feeds in-process: change detection, bounded subscriber queues, feeds that stop."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from typing import cast

import pytest
from starlette.types import Message, Receive, Scope, Send

from gateway.config import GatewaySettings
from gateway.errors import UpstreamUnavailable
from gateway.live.gate import LiveGate, current_connection
from gateway.live.hub import Feed, LiveHub, Subscriber
from gateway.live.poll import poll
from gateway.live.snapshot import LiveKey, Reading, ReportedError, Snapshot, error_shape
from gateway.upstream.client import Fetched
from gateway.upstream.models import JokePayload, Lang, WeatherReport
from gateway.upstream.services import Answer, Upstreams
from gateway.upstream.transport import UpstreamResponse
from tests.support.fake_upstreams import DUCK_JOKE, weather_body

KEY = LiveKey.of("Rodez", Lang.FR, None)


def snapshot(temperature: float, polled_at: float = 1.0) -> Snapshot:
    weather = {**weather_body("Rodez"), "temperature": temperature}
    joke = {"id": 7, "joke": DUCK_JOKE, "lang": "fr"}
    return Snapshot(Reading(value=weather), Reading(value=joke), 0.0, polled_at)


def test_a_full_queue_drops_the_subscriber_once() -> None:
    """A subscriber that takes nothing is dropped at the first update past its queue."""
    dropped: list[bool] = []
    subscriber = Subscriber(asyncio.Queue(2), lambda: dropped.append(True))
    for n in range(5):
        subscriber.offer(snapshot(float(n)))
    assert dropped == [True]
    assert subscriber.queue.qsize() == 2


def test_an_unchanged_snapshot_is_not_offered_again() -> None:
    """Polls that find the same values (only provenance differs) reach nobody."""
    feed = Feed(KEY, "Rodez")
    subscriber = Subscriber(asyncio.Queue(8), lambda: None)
    feed.subscribers.add(subscriber)
    feed.accept(snapshot(21.2, polled_at=1.0))
    feed.accept(snapshot(21.2, polled_at=2.0))
    feed.accept(snapshot(22.0, polled_at=3.0))
    feed.accept(snapshot(22.0, polled_at=4.0))  # this replica's own publication, echoed
    temperatures = []
    while not subscriber.queue.empty():
        value = subscriber.queue.get_nowait().weather.value
        assert value is not None
        temperatures.append(value["temperature"])
    assert temperatures == [21.2, 22.0]


def test_a_snapshot_crosses_redis_unchanged() -> None:
    """What one replica publishes, another reads back the same, errors included."""
    failed = Reading(error=error_shape(UpstreamUnavailable("weather")), source={"cache": "miss"})
    original = Snapshot(failed, snapshot(1.0).joke, 12.5, 13.0)
    assert Snapshot.loads(original.dumps()) == original


def test_a_reported_error_keeps_its_code() -> None:
    """A failure read from a snapshot is raised with the code the poller saw."""
    reading = Reading(error=error_shape(UpstreamUnavailable("weather")))
    with pytest.raises(ReportedError) as raised:
        reading.raise_error()
    assert raised.value.extensions["code"] == "UPSTREAM_UNAVAILABLE"
    assert raised.value.extensions["service"] == "weather"


class CountingUpstreams:
    """Upstreams that answer at once and count the weather calls."""

    def __init__(self) -> None:
        self.weather_calls = 0

    async def weather_report(
        self, city: str, lang: Lang, country: str | None = None
    ) -> Answer[WeatherReport]:
        self.weather_calls += 1
        report = WeatherReport.model_validate(weather_body(city))
        return Answer(report, Fetched(UpstreamResponse(200, b"", "application/json"), "miss"))

    async def random_joke(self, lang: Lang) -> Answer[JokePayload]:
        joke = JokePayload(id=7, joke=DUCK_JOKE, lang=lang)
        return Answer(joke, Fetched(UpstreamResponse(200, b"", "application/json"), "off"))


async def test_a_feed_is_shared_then_stops_after_its_last_subscriber() -> None:
    """Two subscribers to one key share one feed; it stops once both left and the linger
    passed."""
    settings = GatewaySettings(live_refresh_seconds=1, live_linger_seconds=0.1)
    hub = LiveHub(settings)
    upstreams = CountingUpstreams()
    async with AsyncExitStack() as stack:
        await hub.open(stack, cast(Upstreams, upstreams))
        async with (
            hub.subscribe(KEY, "Rodez", lambda: None) as first,
            hub.subscribe(LiveKey.of("RODEZ", Lang.FR, None), "RODEZ", lambda: None) as second,
        ):
            one, two = await asyncio.wait_for(asyncio.gather(first.next(), second.next()), 5)
            assert len(hub.feeds) == 1
            assert one == two
        await asyncio.sleep(0.5)
        assert hub.feeds == {}
    assert upstreams.weather_calls == 1


async def test_an_aborted_websocket_is_closed_with_its_code_and_reason() -> None:
    """A connection stuck in its own task is closed from outside, with the reason given."""
    sent: list[Message] = []

    async def stuck_app(scope: Scope, receive: Receive, send: Send) -> None:
        connection = current_connection()
        assert connection is not None
        connection.abort(4001, "Slow consumer: more than 8 updates unread")
        await asyncio.Event().wait()  # a send that never returns, say

    async def receive() -> Message:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    gate = LiveGate(stuck_app, hub=LiveHub(GatewaySettings()), max_connections=5)
    scope: Scope = {"type": "websocket", "path": "/graphql", "headers": []}
    await asyncio.wait_for(gate(scope, receive, send), 5)
    assert sent == [
        {
            "type": "websocket.close",
            "code": 4001,
            "reason": "Slow consumer: more than 8 updates unread",
        }
    ]
    assert gate.open == 0


async def test_the_joke_rotates_on_its_own_clock() -> None:
    """A poll reuses the feed's joke until GATEWAY_LIVE_JOKE_SECONDS have passed."""
    upstreams = CountingUpstreams()
    jokes: list[str] = []
    original = upstreams.random_joke

    async def counted_joke(lang: Lang) -> Answer[JokePayload]:
        jokes.append(lang.value)
        return await original(lang)

    upstreams.random_joke = counted_joke  # type: ignore[method-assign]

    async def poll_after(previous: Snapshot | None) -> Snapshot:
        return await poll(
            cast(Upstreams, upstreams),
            KEY,
            "Rodez",
            previous,
            joke_seconds=300,
            refresh_seconds=60,
            weather_ttl_seconds=60,
        )

    first = await poll_after(None)
    second = await poll_after(first)  # a minute later, say: same joke
    old = Snapshot(second.weather, second.joke, second.joke_at - 301, second.polled_at)
    await poll_after(old)  # past the joke interval: a new one
    assert len(jokes) == 2
    assert upstreams.weather_calls == 3
    assert second.joke == first.joke


async def test_a_new_feed_serves_a_cached_reading_at_once() -> None:
    """The first poll of a city already in the cache answers now, not when the entry expires
    (a screen subscribing after a REST call for the same city waited up to a TTL)."""
    upstreams = CountingUpstreams()

    async def cached_weather(
        city: str, lang: Lang, country: str | None = None
    ) -> Answer[WeatherReport]:
        report = WeatherReport.model_validate(weather_body(city))
        response = UpstreamResponse(200, b"", "application/json")
        return Answer(report, Fetched(response, "hit", age_seconds=1.0))

    upstreams.weather_report = cached_weather  # type: ignore[method-assign]
    first = await asyncio.wait_for(
        poll(
            cast(Upstreams, upstreams),
            KEY,
            "Rodez",
            None,
            joke_seconds=300,
            refresh_seconds=60,
            weather_ttl_seconds=60,
        ),
        timeout=5,
    )
    assert first.weather.value is not None
    assert first.weather.value["city"] == "Rodez"
