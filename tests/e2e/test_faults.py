"""Issue 3's fault tests: the real gateway process against stub upstreams that misbehave.

Each stub (``tests.support.stub_upstream``) is switched to one fault per test and counts
what reaches it. Most tests share one gateway whose breaker, retries and cache are out of
the way, so every fault shows its own error code; the breaker tests get a fresh gateway
each with the production settings but a 2 s cooldown. Numbers worth watching are attached
to the test report with ``record_property`` (see ``--junitxml``).
"""

from __future__ import annotations

import asyncio
import functools
import math
import socket
import ssl
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import psutil
import pytest
from asgi_lifespan import LifespanManager

from gateway.config import GatewaySettings
from gateway.main import create_app
from tests.support.processes import (
    ServiceProcess,
    StubProcess,
    gateway_env,
    running,
)

pytestmark = pytest.mark.e2e

FULLINFO = '{ fullinfo(city: "Paris") { city weather { temperature } joke } }'
UPSTREAM_DEADLINE_SECONDS = 2.5  # GATEWAY_UPSTREAM_TIMEOUT_SECONDS, default
# The request's own deadline (GATEWAY_REQUEST_TIMEOUT_SECONDS) bounds every answer; its
# backstop answers 504 at deadline + 0.5 s. "Within the deadline + 0.5 s" means this.
REQUEST_DEADLINE_SECONDS = 3.0
EPSILON_SECONDS = 0.5
CLIENTS = 50
BREAKER_THRESHOLD = 5  # GATEWAY_BREAKER_FAILURE_THRESHOLD, default
COOLDOWN_SECONDS = 2.0
MIB = 1024 * 1024
INTERNALS = ("10.0.0.5", "/var/log", "Traceback", "127.0.0.1", "localhost")
QUIET = ("--no-access-log",)

Record = Callable[[str, object], None]


# Processes.


@pytest.fixture(autouse=True)
def healthy_stubs(weather_stub: StubProcess, joke_stub: StubProcess) -> None:
    """Every test starts from healthy stubs that have counted nothing."""
    weather_stub.reset()
    joke_stub.reset()


@dataclass
class Gateway:
    process: ServiceProcess
    baseline_fds: int  # open FDs less the pooled upstream connections (those come and go)
    baseline_rss: int

    @property
    def url(self) -> str:
        return self.process.url

    @property
    def ps(self) -> psutil.Process:
        return psutil.Process(self.process.pid)


@pytest.fixture(scope="module")
def gateway(weather_stub: StubProcess, joke_stub: StubProcess) -> Iterator[Gateway]:
    """Default deadlines; no breaker, no retries, so each fault reaches the client as itself."""
    env = gateway_env(
        weather_stub,
        joke_stub,
        breaker_failure_threshold=1_000_000,
        upstream_retries=0,
        cache_weather_ttl_seconds=0,  # every call reaches the stub and meets its fault
    )
    with running("gateway", env=env, args=QUIET) as process:
        asyncio.run(warm_up(process.url))
        time.sleep(0.2)  # let the closed client connections finish closing
        ps = psutil.Process(process.pid)
        fds = own_fds(ps, weather_stub, joke_stub)
        yield Gateway(process, fds, ps.memory_info().rss)


def own_fds(ps: psutil.Process, *stubs: StubProcess) -> int:
    """Open FDs of the gateway, less its kept-alive connections to the stubs.

    How many connections a pool keeps after a burst depends on timing, not on leaks; the
    stubs see exactly those connections from the other end.
    """
    pooled: int = sum(stub.stats()["open_connections"] for stub in stubs)
    return ps.num_fds() - pooled


@pytest.fixture
def breaker_gateway(weather_stub: StubProcess, joke_stub: StubProcess) -> Iterator[ServiceProcess]:
    """The production breaker and retry settings, with a 2 s cooldown; a fresh breaker."""
    env = gateway_env(weather_stub, joke_stub, breaker_cooldown_seconds=COOLDOWN_SECONDS)
    with running("gateway", env=env, args=QUIET) as process:
        asyncio.run(warm_up(process.url))  # the stubs count these calls too
        yield process


# Clients.


@dataclass(frozen=True)
class Answer:
    status: int
    body: Any
    text: str
    content_type: str
    seconds: float


@functools.cache
def _tls() -> ssl.SSLContext:
    # One context for every client: httpx would otherwise load the CA bundle per client.
    return ssl.create_default_context()


@asynccontextmanager
async def client(url: str) -> AsyncIterator[httpx.AsyncClient]:
    """One simulated user: a single keep-alive connection to the gateway."""
    async with httpx.AsyncClient(base_url=url, timeout=15.0, verify=_tls()) as http:
        yield http


async def call(
    http: httpx.AsyncClient, method: str, path: str, request_id: str | None, **kwargs: Any
) -> Answer:
    headers = {"X-Request-ID": request_id} if request_id else {}
    started = time.perf_counter()
    response = await http.request(method, path, headers=headers, **kwargs)
    seconds = time.perf_counter() - started
    content_type = response.headers.get("content-type", "")
    body = response.json() if "json" in content_type else None
    return Answer(response.status_code, body, response.text, content_type, seconds)


async def graphql(http: httpx.AsyncClient, query: str, request_id: str | None = None) -> Answer:
    return await call(http, "POST", "/graphql", request_id, json={"query": query})


async def rest(
    http: httpx.AsyncClient,
    path: str,
    params: dict[str, str] | None = None,
    request_id: str | None = None,
) -> Answer:
    return await call(http, "GET", path, request_id, params=params)


Ask = Callable[[httpx.AsyncClient, int, int], Awaitable[Answer]]


async def load(url: str, clients: int, rounds: int, ask: Ask) -> list[Answer]:
    """``clients`` concurrent users, each with its own connection, ``rounds`` calls in a row."""

    async def user(number: int) -> list[Answer]:
        # A pool per user, not one pool of 50: httpcore's pool bookkeeping grows with the
        # square of its connections (encode/httpx#3215) and would dominate the test's CPU.
        async with client(url) as http:
            return [await ask(http, number, round_) for round_ in range(rounds)]

    per_user = await asyncio.gather(*(user(number) for number in range(clients)))
    return [answer for answers in per_user for answer in answers]


async def warm_up(url: str) -> None:
    """Healthy traffic at full concurrency, so the pools hold their working set."""
    answers = await load(url, CLIENTS, 1, lambda http, c, r: graphql(http, FULLINFO))
    assert all(answer.status == 200 for answer in answers)


def lost_part(answer: Answer, lost: str = "joke") -> dict[str, Any]:
    """The one error of a fullinfo answer that kept one part and lost the other."""
    kept = "weather" if lost == "joke" else "joke"
    assert answer.status == 200, answer.text
    info = answer.body["data"]["fullinfo"]
    assert info[lost] is None
    assert info[kept] is not None
    if kept == "weather":
        assert isinstance(info["weather"]["temperature"], float)
    errors: list[dict[str, Any]] = answer.body["errors"]
    assert [error["path"] for error in errors] == [["fullinfo", lost]]
    return errors[0]


def no_internals(answer: Answer) -> None:
    for secret in INTERNALS:
        assert secret not in answer.text


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(0.99 * len(ordered)) - 1)]


# A dead upstream, and the breaker in front of a failing one.


async def test_dead_joke_upstream_leaves_every_answer_200_with_the_weather(
    breaker_gateway: ServiceProcess, joke_stub: StubProcess, record_property: Record
) -> None:
    """Joke port closed: 50 users × 20 fullinfo all get 200, the weather, joke null at its path."""
    joke_stub.set_mode("dead")
    answers = await load(
        breaker_gateway.url, CLIENTS, 20, lambda http, c, r: graphql(http, FULLINFO)
    )
    assert len(answers) == 1000
    codes = Counter(lost_part(answer)["extensions"]["code"] for answer in answers)
    assert set(codes) <= {"UPSTREAM_UNAVAILABLE", "UPSTREAM_CIRCUIT_OPEN"}
    assert codes["UPSTREAM_CIRCUIT_OPEN"] >= 900  # the breaker opened early in the run
    seconds = [answer.seconds for answer in answers]
    record_property("dead_p99_seconds", round(p99(seconds), 3))
    record_property("dead_max_seconds", round(max(seconds), 3))
    assert max(seconds) < UPSTREAM_DEADLINE_SECONDS  # refused is fast: nobody waited it out


async def test_breaker_and_retry_budget_bound_the_calls_to_a_failing_upstream(
    breaker_gateway: ServiceProcess, joke_stub: StubProcess, record_property: Record
) -> None:
    """500 requests to a joke service answering 503 reach it a few dozen times, retries ≤ 20 %."""
    joke_stub.set_mode("status", status=503)
    started = time.monotonic()
    answers = await load(
        breaker_gateway.url,
        CLIENTS,
        10,
        lambda http, c, r: graphql(http, FULLINFO, request_id=f"u{c}-{r}"),
    )
    elapsed = time.monotonic() - started
    for answer in answers:
        lost_part(answer)
    # Every call since the gateway started, warm-up included: a retry repeats its request ID.
    calls = Counter(request["request_id"] for request in joke_stub.stats()["requests"])
    first_attempts = len(calls)
    retries = calls.total() - first_attempts
    failing_first_attempts = sum(1 for request_id in calls if request_id.startswith("u"))
    record_property("failing_calls", calls.total())
    record_property("failing_first_attempts", failing_first_attempts)
    record_property("failing_retries", retries)
    assert max(calls.values()) <= 2  # at most one retry per request
    # The budget starts empty with the process and earns 0.2 of a retry per first attempt.
    assert retries <= 0.2 * first_attempts + 1e-9
    # Admitted while closed: the 50 requests in flight, plus one new request from each user
    # freed by the first 4 failures; after that, one probe per cooldown at most.
    probes = math.floor(elapsed / COOLDOWN_SECONDS) + 1
    assert failing_first_attempts <= CLIENTS + BREAKER_THRESHOLD - 1 + probes


async def test_open_breaker_lets_one_probe_per_cooldown_through(
    breaker_gateway: ServiceProcess, joke_stub: StubProcess, record_property: Record
) -> None:
    """While the joke service keeps failing, it sees at most one probe per 2 s cooldown."""
    joke_stub.set_mode("status", status=503)
    window_seconds = 5.0
    async with client(breaker_gateway.url) as http:
        for _ in range(BREAKER_THRESHOLD):
            assert (await rest(http, "/joke")).status == 503
        opened = await rest(http, "/joke")
        assert opened.body["code"] == "UPSTREAM_CIRCUIT_OPEN"
        window_start = time.time()
        loop = asyncio.get_running_loop()
        end = loop.time() + window_seconds

        async def steady(number: int) -> list[Answer]:
            answers = []
            async with client(breaker_gateway.url) as own:
                for index in range(200):  # bounded; the window ends first
                    if loop.time() >= end:
                        break
                    answers.append(await rest(own, "/joke", request_id=f"w{number}-{index}"))
                    await asyncio.sleep(0.05)
            return answers

        per_client = await asyncio.gather(*(steady(number) for number in range(10)))
    answers = [answer for answers in per_client for answer in answers]
    assert {answer.status for answer in answers} == {503}
    requests = [r for r in joke_stub.stats()["requests"] if r["at"] >= window_start]
    probes = Counter(request["request_id"] for request in requests)
    record_property("window_requests", len(answers))
    record_property("window_probes", len(probes))
    record_property("window_upstream_calls", probes.total())
    assert 1 <= len(probes) <= math.floor(window_seconds / COOLDOWN_SECONDS) + 1
    assert probes.total() <= 2 * len(probes)  # a probe may be retried once, within budget


# Upstreams that never answer, or answer too slowly.


async def test_blackhole_upstream_answers_every_request_within_the_deadline(
    gateway: Gateway, joke_stub: StubProcess, record_property: Record
) -> None:
    """Joke accepts and never answers: GraphQL within 3 + 0.5 s with the weather, REST 504."""
    joke_stub.set_mode("blackhole")
    graphql_answers, rest_answers = await asyncio.gather(
        load(gateway.url, CLIENTS - 5, 2, lambda http, c, r: graphql(http, FULLINFO)),
        load(gateway.url, 5, 2, lambda http, c, r: rest(http, "/joke")),
    )
    for answer in graphql_answers:
        assert lost_part(answer)["extensions"]["code"] == "UPSTREAM_TIMEOUT"
    slowest = max(answer.seconds for answer in graphql_answers)
    slowest_rest = max(answer.seconds for answer in rest_answers)
    record_property("blackhole_graphql_max_seconds", round(slowest, 3))
    record_property("blackhole_rest_max_seconds", round(slowest_rest, 3))
    assert slowest <= REQUEST_DEADLINE_SECONDS + EPSILON_SECONDS
    for answer in rest_answers:
        assert (answer.status, answer.body["code"]) == (504, "UPSTREAM_TIMEOUT")
    assert slowest_rest <= REQUEST_DEADLINE_SECONDS + EPSILON_SECONDS


async def test_slow_drip_is_cut_at_the_deadline(
    gateway: Gateway, joke_stub: StubProcess, record_property: Record
) -> None:
    """A body trickling a byte every 0.5 s is abandoned at the deadline, not read to the end."""
    joke_stub.set_mode("drip", interval=0.5)
    graphql_answers, rest_answers = await asyncio.gather(
        load(gateway.url, 10, 1, lambda http, c, r: graphql(http, FULLINFO)),
        load(gateway.url, 5, 1, lambda http, c, r: rest(http, "/joke")),
    )
    for answer in graphql_answers:
        assert lost_part(answer)["extensions"]["code"] == "UPSTREAM_TIMEOUT"
    for answer in rest_answers:
        assert (answer.status, answer.body["code"]) == (504, "UPSTREAM_TIMEOUT")
    slowest = max(answer.seconds for answer in [*graphql_answers, *rest_answers])
    record_property("drip_max_seconds", round(slowest, 3))
    assert slowest <= REQUEST_DEADLINE_SECONDS + EPSILON_SECONDS


# Upstreams that answer something unusable.

BAD_ANSWERS = [
    pytest.param(("status", {"status": 500}), "UPSTREAM_BAD_RESPONSE", 502, id="500"),
    pytest.param(("status", {"status": 502}), "UPSTREAM_BAD_RESPONSE", 502, id="502"),
    pytest.param(("status", {"status": 503}), "UPSTREAM_UNAVAILABLE", 503, id="503"),
    pytest.param(("status", {"status": 504}), "UPSTREAM_TIMEOUT", 504, id="504"),
    pytest.param(("html", {}), "UPSTREAM_BAD_RESPONSE", 502, id="html"),
    pytest.param(("truncated", {}), "UPSTREAM_BAD_RESPONSE", 502, id="truncated"),
    pytest.param(("wrong_shape", {}), "UPSTREAM_BAD_RESPONSE", 502, id="wrong_shape"),
    pytest.param(("huge", {}), "UPSTREAM_BAD_RESPONSE", 502, id="huge"),
    pytest.param(("gzip_bomb", {}), "UPSTREAM_BAD_RESPONSE", 502, id="gzip_bomb"),
    pytest.param(("reset", {}), "UPSTREAM_BAD_RESPONSE", 502, id="reset"),
    pytest.param(("redirect", {}), "UPSTREAM_BAD_RESPONSE", 502, id="redirect"),
]
Fault = tuple[str, dict[str, object]]


def stub_for(service: str, weather: StubProcess, joke: StubProcess) -> StubProcess:
    return weather if service == "weather" else joke


@pytest.mark.parametrize("service", ["weather", "joke"])
@pytest.mark.parametrize(("fault", "code", "status"), BAD_ANSWERS)
async def test_bad_upstream_answer_nulls_only_its_graphql_field(
    gateway: Gateway,
    weather_stub: StubProcess,
    joke_stub: StubProcess,
    service: str,
    fault: Fault,
    code: str,
    status: int,
) -> None:
    """An unusable answer nulls its own field with the right code; the other part stays."""
    stub = stub_for(service, weather_stub, joke_stub)
    mode, params = fault
    stub.set_mode(mode, **params)
    async with client(gateway.url) as http:
        answer = await graphql(http, FULLINFO)
    error = lost_part(answer, lost=service)
    assert error["extensions"]["code"] == code
    assert error["extensions"]["service"] == service
    no_internals(answer)
    assert answer.seconds < 1.0
    assert stub.stats()["trap_hits"] == 0  # a redirect is never followed


@pytest.mark.parametrize("service", ["weather", "joke"])
@pytest.mark.parametrize(("fault", "code", "status"), BAD_ANSWERS)
async def test_bad_upstream_answer_is_a_rest_problem(
    gateway: Gateway,
    weather_stub: StubProcess,
    joke_stub: StubProcess,
    service: str,
    fault: Fault,
    code: str,
    status: int,
) -> None:
    """The REST passthrough answers an unusable upstream answer with 502 (503/504 by cause)."""
    stub = stub_for(service, weather_stub, joke_stub)
    mode, params = fault
    stub.set_mode(mode, **params)
    async with client(gateway.url) as http:
        answer = await rest(
            http, f"/{service}", {"city": "Paris"} if service == "weather" else None
        )
    assert (answer.status, answer.content_type) == (status, "application/problem+json")
    assert answer.body["code"] == code
    assert answer.body["service"] == service
    no_internals(answer)
    assert stub.stats()["trap_hits"] == 0


class PeakRss:
    """Samples a process's RSS every few milliseconds in a thread; keeps the highest."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.peak = process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        for _ in range(20_000):  # ≤ 100 s at 5 ms; stop() ends it long before
            self.peak = max(self.peak, self.process.memory_info().rss)
            if self._stop.wait(0.005):
                return

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)


async def test_gzip_bombs_leave_gateway_memory_flat(
    gateway: Gateway,
    weather_stub: StubProcess,
    joke_stub: StubProcess,
    record_property: Record,
) -> None:
    """Forty bodies inflating to 1 GiB each move the gateway's RSS by under 20 MiB, at peak too."""
    weather_stub.set_mode("gzip_bomb")
    joke_stub.set_mode("gzip_bomb")
    ps = gateway.ps
    before = ps.memory_info().rss
    with PeakRss(ps) as sampler:
        # 5 users × 2 upstreams: ten bodies read at once, each allowed up to the 1 MiB cap.
        answers = await load(gateway.url, 5, 4, lambda http, c, r: graphql(http, FULLINFO))
    after = ps.memory_info().rss
    for answer in answers:
        assert answer.status == 200
        assert answer.body["data"]["fullinfo"] == {"city": "Paris", "weather": None, "joke": None}
        codes = {error["extensions"]["code"] for error in answer.body["errors"]}
        assert codes == {"UPSTREAM_BAD_RESPONSE"}
    record_property("bomb_rss_growth_mib", round((after - before) / MIB, 1))
    record_property("bomb_rss_peak_growth_mib", round((sampler.peak - before) / MIB, 1))
    assert after - before < 20 * MIB
    assert sampler.peak - before < 20 * MIB


# Both upstreams down.


@pytest.mark.parametrize(
    ("weather_mode", "joke_mode", "status"),
    [
        pytest.param("dead", "dead", 503, id="both-refused-503"),
        pytest.param("blackhole", "blackhole", 504, id="both-silent-504"),
        pytest.param("html", "dead", 502, id="mixed-502"),
    ],
)
async def test_both_upstreams_down_rest_fullinfo_status_follows_the_cause(
    gateway: Gateway,
    weather_stub: StubProcess,
    joke_stub: StubProcess,
    weather_mode: str,
    joke_mode: str,
    status: int,
) -> None:
    """With nothing to merge, /fullinfo is a problem: 503 refused, 504 timed out, 502 mixed."""
    weather_stub.set_mode(weather_mode)
    joke_stub.set_mode(joke_mode)
    async with client(gateway.url) as http:
        answer = await rest(http, "/fullinfo", {"city": "Paris"})
    assert (answer.status, answer.content_type) == (status, "application/problem+json")
    assert answer.body["code"] == "UPSTREAMS_FAILED"
    assert {error["path"][0] for error in answer.body["errors"]} == {"weather", "joke"}
    assert answer.seconds <= 3.0
    no_internals(answer)


async def test_both_upstreams_down_graphql_reports_two_errors(
    gateway: Gateway, weather_stub: StubProcess, joke_stub: StubProcess
) -> None:
    """With both services refused, fullinfo keeps its city and carries one error per field."""
    weather_stub.set_mode("dead")
    joke_stub.set_mode("dead")
    async with client(gateway.url) as http:
        answer = await graphql(http, FULLINFO)
    assert answer.status == 200
    assert answer.body["data"]["fullinfo"] == {"city": "Paris", "weather": None, "joke": None}
    errors = {tuple(e["path"]): e["extensions"]["code"] for e in answer.body["errors"]}
    assert errors == {
        ("fullinfo", "weather"): "UPSTREAM_UNAVAILABLE",
        ("fullinfo", "joke"): "UPSTREAM_UNAVAILABLE",
    }


# A client that gives up.

_JOKE_QUERY = b'{"query": "{ joke { id } }"}'
CANCEL_REQUESTS = {
    "rest": b"GET /joke HTTP/1.1\r\nHost: gateway\r\n\r\n",
    "graphql": b"POST /graphql HTTP/1.1\r\nHost: gateway\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(_JOKE_QUERY)}\r\n\r\n".encode()
    + _JOKE_QUERY,
}


@pytest.mark.parametrize("door", ["rest", "graphql"])
def test_client_disconnect_closes_the_upstream_connection(
    gateway: Gateway, joke_stub: StubProcess, door: str, record_property: Record
) -> None:
    """A client hanging up mid-request makes the gateway drop its call to the slow upstream."""
    joke_stub.set_mode("latency", seconds=20)
    with socket.create_connection(("127.0.0.1", gateway.process.port), timeout=5) as sock:
        sock.sendall(CANCEL_REQUESTS[door])
        call = wait_for(lambda: (joke_stub.stats()["requests"] or [None])[0], seconds=2.0)
        gave_up = time.time()
    closed_at = wait_for(lambda: connection_closed_at(joke_stub, call["connection"]), seconds=3.0)
    record_property(f"cancel_{door}_close_after_seconds", round(closed_at - gave_up, 3))
    assert closed_at - gave_up < 1.0  # the gateway's own deadline would take 2.5 s


def connection_closed_at(stub: StubProcess, connection_id: int) -> float | None:
    for connection in stub.stats()["connections"]:
        if connection["id"] == connection_id:
            closed_at: float | None = connection["closed_at"]
            return closed_at
    return None


def wait_for(probe: Callable[[], Any], *, seconds: float) -> Any:
    """Poll ``probe`` until it returns something truthy, for at most ``seconds``."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := probe():
            return value
        time.sleep(0.02)
    raise AssertionError(f"nothing within {seconds}s")


# No leaks. These run last in the module, after every fault above.


async def test_in_process_gateway_leaves_no_tasks_after_faults(
    weather_stub: StubProcess,
    joke_stub: StubProcess,
    monkeypatch: pytest.MonkeyPatch,
    record_property: Record,
) -> None:
    """After faulty and abandoned requests, the gateway's asyncio tasks are back to baseline."""
    monkeypatch.setenv("WEATHER_URL", weather_stub.url)
    monkeypatch.setenv("JOKE_URL", joke_stub.url)
    monkeypatch.setenv("GATEWAY_CACHE_WEATHER_TTL_SECONDS", "0")
    settings = GatewaySettings(
        upstream_timeout_seconds=0.5,
        request_timeout_seconds=1.0,
        upstream_retries=0,
        breaker_failure_threshold=1_000_000,
    )
    app = create_app(settings)
    async with (
        LifespanManager(app) as manager,
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=manager.app), base_url="http://gateway"
        ) as http,
    ):
        await asyncio.gather(*(graphql(http, FULLINFO) for _ in range(10)))
        await asyncio.sleep(0.1)
        baseline = len(asyncio.all_tasks())
        for mode in ("blackhole", "drip", "reset", "huge", "gzip_bomb", "truncated", "dead"):
            joke_stub.set_mode(mode)
            await asyncio.gather(*(graphql(http, FULLINFO) for _ in range(10)))
        joke_stub.set_mode("latency", seconds=20)
        abandoned = [asyncio.create_task(graphql(http, FULLINFO)) for _ in range(10)]
        await asyncio.sleep(0.2)
        for task in abandoned:
            task.cancel()
        await asyncio.gather(*abandoned, return_exceptions=True)
        await asyncio.sleep(0.2)
        after = len(asyncio.all_tasks())
    record_property("tasks_baseline", baseline)
    record_property("tasks_after", after)
    assert after <= baseline


async def test_gateway_process_holds_no_extra_sockets_or_memory_after_the_faults(
    gateway: Gateway,
    weather_stub: StubProcess,
    joke_stub: StubProcess,
    record_property: Record,
) -> None:
    """After every fault above and a short idle, open FDs and RSS are back near the start."""
    await asyncio.sleep(1.0)
    await warm_up(gateway.url)  # the same healthy load as at the start
    await asyncio.sleep(0.2)
    fds = own_fds(gateway.ps, weather_stub, joke_stub)
    rss = gateway.ps.memory_info().rss
    record_property("fds_baseline", gateway.baseline_fds)
    record_property("fds_after", fds)
    record_property("rss_growth_mib", round((rss - gateway.baseline_rss) / MIB, 1))
    assert fds <= gateway.baseline_fds + 5
    assert rss - gateway.baseline_rss < 20 * MIB
    for stub in (weather_stub, joke_stub):
        assert stub.stats()["open_connections"] <= CLIENTS  # at most the gateway's pool
