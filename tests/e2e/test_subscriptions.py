"""Subscriptions end to end: real gateway processes, gql's WebSocket client, plain SSE."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager

import httpx
import pytest
import websockets

from tests.e2e.live import (
    REFRESH_SECONDS,
    WEATHER,
    live_gateway,
    sse_events,
    subscribers,
    ws_url,
)
from tests.support.processes import ServiceProcess, StubProcess, free_port
from tests.support.redis import REDIS_URL

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

SUBSCRIBERS = 200


@pytest.fixture(autouse=True)
def healthy_stubs(weather_stub: StubProcess, joke_stub: StubProcess) -> Iterator[None]:
    """Each test starts from healthy stubs with nothing counted."""
    weather_stub.reset()
    joke_stub.reset()
    yield
    weather_stub.reset()


async def test_many_subscribers_share_one_poll_and_all_hear_a_change(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """200 WebSocket subscribers to one city cost one weather call per interval, hear
    nothing while the value holds, and all get a new temperature within an interval + 1 s."""
    with live_gateway(weather_stub, joke_stub) as gateway:
        async with subscribers(ws_url(gateway), WEATHER % "Rodez", SUBSCRIBERS) as inboxes:
            weather_stub.control.post("/__reset").raise_for_status()
            window_started = time.monotonic()
            await asyncio.sleep(4 * REFRESH_SECONDS)
            calls = weather_stub.stats()["calls"]
            window = time.monotonic() - window_started
            assert calls <= window / REFRESH_SECONDS + 1, (calls, window)
            assert all(len(inbox.events) == 1 for inbox in inboxes), "pushed an unchanged value"

            weather_stub.set_mode("healthy", temperature=30.5)
            changed_at = time.monotonic()
            async with asyncio.timeout(REFRESH_SECONDS + 5):
                await asyncio.gather(*(inbox.wait_for(2) for inbox in inboxes))
            latencies = [inbox.events[1][0] - changed_at for inbox in inboxes]
    assert all(inbox.temperatures()[:2] == [21.2, 30.5] for inbox in inboxes)
    print(
        f"\n{SUBSCRIBERS} subscribers: {calls} weather calls in {window:.1f} s; "
        f"change heard after {min(latencies):.2f}..{max(latencies):.2f} s"
    )
    assert max(latencies) <= REFRESH_SECONDS + 1


async def test_sse_streams_to_a_plain_http_client(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """POST /graphql with Accept: text/event-stream streams `next` events, sources included."""
    query = 'subscription { fullinfo(city: "Honolulu") { city weather { temperature } joke } }'
    with live_gateway(weather_stub, joke_stub) as gateway:
        async with httpx.AsyncClient(timeout=10) as client:
            events = asyncio.create_task(sse_events(client, f"{gateway.url}/graphql", query, 2))
            await asyncio.sleep(1.5 * REFRESH_SECONDS)
            weather_stub.set_mode("healthy", temperature=-3.0)
            first, second = await asyncio.wait_for(events, 10)
    assert first["data"]["fullinfo"]["weather"] == {"temperature": 21.2}
    assert second["data"]["fullinfo"]["weather"] == {"temperature": -3.0}
    assert second["data"]["fullinfo"]["joke"]
    assert set(second["extensions"]["sources"]) == {"weather", "joke"}


async def test_an_upstream_failure_is_an_error_event_and_the_stream_goes_on(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """A weather outage arrives as an event with the error's code; recovery follows on the
    same stream."""
    query = 'subscription { weather(city: "Oslo") { temperature } }'
    with live_gateway(weather_stub, joke_stub, cache_max_stale_seconds=0) as gateway:
        async with httpx.AsyncClient(timeout=15) as client:
            events = asyncio.create_task(sse_events(client, f"{gateway.url}/graphql", query, 3))
            await asyncio.sleep(1.5 * REFRESH_SECONDS)
            weather_stub.set_mode("status", status=503)
            await asyncio.sleep(2.5 * REFRESH_SECONDS)
            weather_stub.set_mode("healthy", temperature=4.0)
            first, failed, recovered = await asyncio.wait_for(events, 10)
    assert first["data"]["weather"] == {"temperature": 21.2}
    assert failed["data"]["weather"] is None
    assert failed["errors"][0]["extensions"]["code"] == "UPSTREAM_UNAVAILABLE"
    assert failed["errors"][0]["path"] == ["weather"]
    assert recovered["data"]["weather"] == {"temperature": 4.0}


async def test_a_stale_value_is_flagged(weather_stub: StubProcess, joke_stub: StubProcess) -> None:
    """When the weather fails and the cache still has a reading, the event says STALE_DATA."""
    query = 'subscription { fullinfo(city: "Lima") { weather { temperature } } }'
    with live_gateway(weather_stub, joke_stub, cache_max_stale_seconds=600) as gateway:
        async with httpx.AsyncClient(timeout=15) as client:
            events = asyncio.create_task(sse_events(client, f"{gateway.url}/graphql", query, 2))
            await asyncio.sleep(1.5 * REFRESH_SECONDS)
            weather_stub.set_mode("status", status=500)
            first, stale = await asyncio.wait_for(events, 10)
    assert stale["data"] == first["data"]
    [error] = stale["errors"]
    assert error["extensions"]["code"] == "STALE_DATA"
    assert error["path"] == ["fullinfo", "weather"]


async def test_the_subscription_over_the_limit_is_refused_with_a_reason(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """With a limit of 2 per connection, the third subscribe gets TOO_MANY_SUBSCRIPTIONS."""
    with live_gateway(weather_stub, joke_stub, live_max_subscriptions_per_connection=2) as gateway:
        async with websockets.connect(
            ws_url(gateway), subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            assert json.loads(await ws.recv())["type"] == "connection_ack"
            for n in (1, 2, 3):
                payload = {"query": WEATHER % f"City{n}"}
                await ws.send(json.dumps({"id": str(n), "type": "subscribe", "payload": payload}))
            async with asyncio.timeout(10):
                while True:
                    message = json.loads(await ws.recv())
                    if message["type"] == "error":
                        break
    assert message["id"] == "3"
    [error] = message["payload"]
    assert error["extensions"]["code"] == "TOO_MANY_SUBSCRIPTIONS"
    assert "limit 2" in error["message"]


async def test_a_client_that_stops_reading_is_disconnected_with_a_reason(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """A WebSocket client that subscribes and then reads nothing (so answers no ping) is
    closed with 4000 and a reason, in about the idle timeout."""
    with live_gateway(
        weather_stub, joke_stub, live_ping_seconds=0.5, live_idle_timeout_seconds=2
    ) as gateway:
        async with websockets.connect(
            ws_url(gateway), subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            payload = {"query": WEATHER % "Rodez"}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            started = time.monotonic()
            await asyncio.wait_for(ws.wait_closed(), 15)  # never calls recv()
            closed_after = time.monotonic() - started
    assert ws.close_code == 4000
    assert "Idle timeout" in (ws.close_reason or "")
    print(f"\nstalled reader closed after {closed_after:.1f} s")


def replicas(
    weather: StubProcess, joke: StubProcess, cache_url: str, prefix: str
) -> tuple[AbstractContextManager[ServiceProcess], AbstractContextManager[ServiceProcess]]:
    env = {"CACHE_URL": cache_url, "GATEWAY_CACHE_KEY_PREFIX": prefix}
    return (
        live_gateway(weather, joke, extra_env=env),
        live_gateway(weather, joke, extra_env=env),
    )


async def test_two_replicas_on_one_redis_poll_once_per_interval_between_them(
    weather_stub: StubProcess, joke_stub: StubProcess, redis_prefix: str
) -> None:
    """Subscribers on two gateway processes sharing Redis cost one weather call per
    interval in all, and both sides hear a change."""
    first, second = replicas(weather_stub, joke_stub, REDIS_URL, redis_prefix)
    with first as one, second as two:
        async with (
            subscribers(ws_url(one), WEATHER % "Rodez", 20) as on_one,
            subscribers(ws_url(two), WEATHER % "Rodez", 20) as on_two,
        ):
            weather_stub.control.post("/__reset").raise_for_status()
            started = time.monotonic()
            await asyncio.sleep(5 * REFRESH_SECONDS)
            calls = weather_stub.stats()["calls"]
            window = time.monotonic() - started
            weather_stub.set_mode("healthy", temperature=12.0)
            async with asyncio.timeout(REFRESH_SECONDS + 5):
                await asyncio.gather(*(inbox.wait_for(2) for inbox in [*on_one, *on_two]))
    print(f"\ntwo replicas on Redis: {calls} weather calls in {window:.1f} s")
    assert calls <= window / REFRESH_SECONDS + 1, (calls, window)
    assert all(inbox.temperatures()[1] == 12.0 for inbox in [*on_one, *on_two])


async def test_with_redis_down_each_replica_polls_on_its_own(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """With CACHE_URL pointing at a dead Redis, each replica polls once per interval on its
    own (more calls than one shared poller makes, no more than one per replica), and both
    still push changes."""
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    first, second = replicas(weather_stub, joke_stub, dead_redis, "canaduck-test-dead:")
    with first as one, second as two:
        async with (
            subscribers(ws_url(one), WEATHER % "Rodez", 5) as on_one,
            subscribers(ws_url(two), WEATHER % "Rodez", 5) as on_two,
        ):
            weather_stub.control.post("/__reset").raise_for_status()
            started = time.monotonic()
            await asyncio.sleep(5 * REFRESH_SECONDS)
            calls = weather_stub.stats()["calls"]
            window = time.monotonic() - started
            weather_stub.set_mode("healthy", temperature=8.5)
            async with asyncio.timeout(REFRESH_SECONDS + 5):
                await asyncio.gather(*(inbox.wait_for(2) for inbox in [*on_one, *on_two]))
    print(f"\ntwo replicas, Redis down: {calls} weather calls in {window:.1f} s")
    per_replica = window / REFRESH_SECONDS + 1  # the most one poller makes in the window
    assert calls > per_replica, (calls, window)  # both replicas polled
    assert calls <= 2 * per_replica, (calls, window)  # each once per interval, not per screen
    assert all(inbox.temperatures()[:2] == [21.2, 8.5] for inbox in [*on_one, *on_two])


async def test_a_live_connection_over_the_limit_is_refused_with_a_reason(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """With room for one live connection, a second SSE request gets 503
    TOO_MANY_LIVE_CONNECTIONS and a second WebSocket is closed with 1013."""
    query = WEATHER % "Rodez"
    with live_gateway(weather_stub, joke_stub, live_max_connections=1) as gateway:
        async with httpx.AsyncClient(timeout=10) as client:
            holder = asyncio.create_task(sse_events(client, f"{gateway.url}/graphql", query, 99))
            await asyncio.sleep(1)  # the first stream is open
            refused = await client.post(
                f"{gateway.url}/graphql",
                json={"query": query},
                headers={"Accept": "text/event-stream"},
            )
            async with websockets.connect(
                ws_url(gateway), subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
            ) as ws:
                await asyncio.wait_for(ws.wait_closed(), 10)
            holder.cancel()
    assert refused.status_code == 503
    assert refused.json()["code"] == "TOO_MANY_LIVE_CONNECTIONS"
    assert refused.headers["retry-after"]
    assert ws.close_code == 1013
    assert "Too many live connections" in (ws.close_reason or "")


async def test_production_keeps_the_document_limits_for_subscriptions(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """In production a subscription with too many aliases is refused before any poll."""
    fields = " ".join(f"a{n}: temperature" for n in range(20))
    query = 'subscription { weather(city: "Rodez") { ' + fields + " } }"
    with live_gateway(weather_stub, joke_stub, extra_env={"CANADUCK_ENV": "production"}) as gw:
        weather_stub.control.post("/__reset").raise_for_status()
        async with httpx.AsyncClient(timeout=10) as client:
            [event] = await sse_events(client, f"{gw.url}/graphql", query, 1)
    assert event.get("data") is None
    assert event["errors"][0]["extensions"]["code"] in {
        "QUERY_TOO_COMPLEX",
        "GRAPHQL_VALIDATION_FAILED",
    }
    assert weather_stub.stats()["calls"] == 0


async def test_only_a_change_in_the_selected_fields_is_pushed(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """A temperature change reaches the subscriber that selected the temperature, and not
    the one that selected only the city."""
    url_query = {
        "temperature": 'subscription { weather(city: "Rodez") { temperature } }',
        "city": 'subscription { weather(city: "Rodez") { city } }',
    }
    with live_gateway(weather_stub, joke_stub) as gateway:
        async with httpx.AsyncClient(timeout=15) as client:
            temperature = asyncio.create_task(
                sse_events(client, f"{gateway.url}/graphql", url_query["temperature"], 2)
            )
            city_events: list[dict[str, object]] = []
            city = asyncio.create_task(
                sse_events(client, f"{gateway.url}/graphql", url_query["city"], 2, city_events)
            )
            await asyncio.sleep(1.5 * REFRESH_SECONDS)
            weather_stub.set_mode("healthy", temperature=25.0)
            await asyncio.wait_for(temperature, 10)
            await asyncio.sleep(2 * REFRESH_SECONDS)  # time for a wrong push to arrive
            city.cancel()
    assert [event["data"] for event in city_events] == [{"weather": {"city": "Rodez"}}]


async def test_an_operator_sees_live_connections_and_feeds_in_metrics(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """While three screens follow two cities, /metrics counts 3 connections and 2 feeds."""
    with live_gateway(weather_stub, joke_stub) as gateway:
        async with (
            subscribers(ws_url(gateway), WEATHER % "Rodez", 2),
            subscribers(ws_url(gateway), WEATHER % "Oslo", 1),
            httpx.AsyncClient(timeout=10) as client,
        ):
            text = (await client.get(f"{gateway.url}/metrics")).text
    series = {
        line.split(" ")[0]: float(line.split(" ")[1])
        for line in text.splitlines()
        if line.startswith("canaduck_live_")
    }
    assert series["canaduck_live_connections"] == 3
    assert series["canaduck_live_feeds"] == 2
    assert series["canaduck_live_subscribers"] == 3
    assert series["canaduck_live_polls_total"] >= 2


async def test_the_shutdown_drain_sends_live_screens_elsewhere_at_once(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """On SIGTERM a WebSocket subscriber is closed with 1012 (service restart) early in the
    drain, not held until the drain ends."""
    drain_seconds = 8.0
    env = {"GATEWAY_SHUTDOWN_DRAIN_SECONDS": str(drain_seconds)}
    with live_gateway(weather_stub, joke_stub, extra_env=env) as gateway:
        async with websockets.connect(
            ws_url(gateway), subprotocols=[websockets.Subprotocol("graphql-transport-ws")]
        ) as ws:
            await ws.send(json.dumps({"type": "connection_init"}))
            payload = {"query": WEATHER % "Rodez"}
            await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
            signalled = time.monotonic()
            os.kill(gateway.pid, signal.SIGTERM)
            with contextlib.suppress(websockets.ConnectionClosed):
                async with asyncio.timeout(drain_seconds):
                    async for _ in ws:
                        pass
            closed_after = time.monotonic() - signalled
    assert ws.close_code == 1012
    assert "restarting" in (ws.close_reason or "")
    assert closed_after < drain_seconds / 2


async def test_a_subscription_past_the_feed_limit_gets_a_coded_error(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """With room for one feed, a second city is refused with TOO_MANY_LIVE_FEEDS while the
    first city stays open to new subscribers."""
    with live_gateway(weather_stub, joke_stub, live_max_feeds=1) as gateway:
        url = f"{gateway.url}/graphql"
        async with httpx.AsyncClient(timeout=10) as client:
            holder = asyncio.create_task(sse_events(client, url, WEATHER % "Rodez", 99))
            await asyncio.sleep(1)  # Rodez's feed is running
            [refused] = await sse_events(client, url, WEATHER % "Oslo", 1)
            [same_city] = await sse_events(client, url, WEATHER % "RODEZ", 1)
            holder.cancel()
    assert refused["data"] is None
    assert refused["errors"][0]["extensions"]["code"] == "TOO_MANY_LIVE_FEEDS"
    assert same_city["data"]["weather"]["temperature"] == 21.2


async def test_a_bad_city_gets_invalid_input_and_no_poll(
    weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """An empty city is refused with INVALID_INPUT, like the query, and nothing is polled."""
    with live_gateway(weather_stub, joke_stub) as gateway:
        weather_stub.control.post("/__reset").raise_for_status()
        async with httpx.AsyncClient(timeout=10) as client:
            [event] = await sse_events(client, f"{gateway.url}/graphql", WEATHER % " ", 1)
    assert event["data"] is None
    assert event["errors"][0]["extensions"]["code"] == "INVALID_INPUT"
    assert event["errors"][0]["extensions"]["argument"] == "city"
    assert weather_stub.stats()["calls"] == 0
