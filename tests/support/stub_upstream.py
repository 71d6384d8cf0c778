"""A stand-in for the weather or joke service with switchable faults, run as a real process.

    python -m tests.support.stub_upstream --port N --control-port M --service joke

Raw asyncio streams (``raw_http``) rather than a web framework, so every fault is exact
at the socket level: a closed port, a request read and never answered, a body dripped a
byte at a time, a reset in the middle of a body. The service port answers like the real
service (the JSON contracts of ``weather_service`` and ``joke_service``). The control port
stays up in every mode and takes:

    POST /__control  {"mode": "<mode>", ...params}   switch the service port's behaviour
    GET  /__stats                                    calls, query parameters, connections
    POST /__reset                                    forget what was counted (mode stays)
    GET  /__trap                                     the default redirect target; counts hits

Modes, with their parameters and defaults:

    healthy                    the real contract (weather for city "Nowhere" is a 404 problem)
              temperature=21.2 the weather's temperature (a test changes it to see a push)
    dead                       service port closed (connection refused), its connections cut
    blackhole                  accept, read the request, never answer
    drip      interval=0.5     status line and headers at once, then the body 1 byte/interval
    latency   seconds=1.0      wait, then answer healthily
    status    status=500       that status, with a body naming internals
    html                       200 text/html
    truncated                  Content-Length of the whole body, half of it, then a clean close
    wrong_shape                200 JSON that is not the contract
    huge      bytes=50 MiB     200 JSON of that length, streamed
    gzip_bomb                  ~1 MiB of gzip that inflates to 1 GiB of zeros
    reset                      half the body, then a TCP reset (SO_LINGER 0)
    redirect  location=trap    302 to another host (by default this stub's /__trap)

``/health`` answers 200 in every mode but ``dead`` and ``blackhole`` (the gateway's
``/ready`` probes it). Nothing waits longer than ``MAX_HOLD_SECONDS``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from tests.support.fake_upstreams import DUCK_JOKE, weather_body
from tests.support.raw_http import (
    CHUNK,
    MAX_HOLD_SECONDS,
    MIB,
    Request,
    as_json,
    gzip_bomb,
    head,
    peer_closed_within,
    read_request,
    reset_connection,
    response,
)

MODES = frozenset(
    [
        "healthy",
        "dead",
        "blackhole",
        "drip",
        "latency",
        "status",
        "html",
        "truncated",
        "wrong_shape",
        "huge",
        "gzip_bomb",
        "reset",
        "redirect",
    ]
)
MAX_LOG = 20_000  # requests and connections remembered (the counters keep counting)
INTERNALS = b"Internal Server Error: db at 10.0.0.5 down, see /var/log/stub/trace.log"


@dataclass
class Connection:
    id: int
    opened_at: float
    writer: asyncio.StreamWriter
    closed_at: float | None = None
    requests: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "opened_at": self.opened_at,
            "closed_at": self.closed_at,
            "requests": self.requests,
        }


@dataclass
class Stats:
    calls: int = 0
    health_calls: int = 0
    trap_hits: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)


class Stub:
    """One fake service: its mode, its listening socket and what it has seen."""

    def __init__(self, service: str, host: str, port: int, control_port: int) -> None:
        self.service = service
        self.host = host
        self.port = port
        self.control_port = control_port
        self.mode = "healthy"
        self.params: dict[str, Any] = {}
        self.stats = Stats()
        self.server: asyncio.Server | None = None
        self.open: dict[int, Connection] = {}
        self.closed: list[Connection] = []
        self._next_id = 0
        self._bomb: asyncio.Future[bytes] | None = None

    async def start(self) -> None:
        # 1 GiB of CRC takes a moment: compute it off the loop while the ports come up.
        self._bomb = asyncio.ensure_future(asyncio.to_thread(gzip_bomb))
        await asyncio.start_server(self._serve_control, self.host, self.control_port)
        await self._listen()

    async def _listen(self) -> None:
        self.server = await asyncio.start_server(self._serve_service, self.host, self.port)

    def _go_dead(self) -> None:
        if self.server is not None:
            self.server.close()  # closes the listening socket: new connections are refused
            self.server = None
        for connection in list(self.open.values()):
            reset_connection(connection.writer)

    async def set_mode(self, mode: str, params: dict[str, Any]) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}")
        self.mode, self.params = mode, params
        if mode == "dead":
            self._go_dead()
        elif self.server is None:
            await self._listen()

    def stats_json(self) -> dict[str, Any]:
        log = [*self.closed, *self.open.values()]
        return {
            "service": self.service,
            "mode": self.mode,
            "calls": self.stats.calls,
            "health_calls": self.stats.health_calls,
            "trap_hits": self.stats.trap_hits,
            "requests": self.stats.requests,
            "open_connections": len(self.open),
            "closed_connections": len(self.closed),
            "connections": [c.to_json() for c in sorted(log, key=lambda c: c.id)],
        }

    def reset(self) -> None:
        self.stats = Stats()
        self.closed.clear()

    # Service port.

    async def _serve_service(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        self._next_id += 1
        connection = Connection(self._next_id, time.time(), writer)
        self.open[connection.id] = connection
        try:
            while (request := await read_request(reader)) is not None:
                connection.requests += 1
                if not await self._answer(request, connection, reader, writer):
                    break
        except (ConnectionError, TimeoutError):
            pass
        finally:
            connection.closed_at = time.time()
            del self.open[connection.id]
            if len(self.closed) < MAX_LOG:
                self.closed.append(connection)
            writer.close()

    async def _answer(
        self,
        request: Request,
        connection: Connection,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bool:
        """Answer one request in the current mode; False closes the connection."""
        mode = self.mode
        if request.path == "/health":
            if mode == "blackhole":
                await peer_closed_within(reader, MAX_HOLD_SECONDS)
                return False
            self.stats.health_calls += 1
            writer.write(as_json(200, {"status": "ok"}))
            await self._drain(writer)
            return True
        self._record(request, connection)
        match mode:
            case "dead":  # a request that slipped in as the port closed
                reset_connection(writer)
                return False
            case "blackhole":
                await peer_closed_within(reader, MAX_HOLD_SECONDS)
                return False
            case "latency":
                seconds = min(float(self.params.get("seconds", 1.0)), MAX_HOLD_SECONDS)
                if await peer_closed_within(reader, seconds):
                    return False
                writer.write(self._healthy(request))
            case "drip":
                return await self._drip(request, reader, writer)
            case "status":
                writer.write(response(int(self.params.get("status", 500)), INTERNALS, "text/plain"))
            case "html":
                page = b"<html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>"
                writer.write(response(200, page, "text/html"))
            case "truncated":
                body = self._healthy_body(request)
                writer.write(head(200, [("Content-Type", "application/json")], len(body)))
                writer.write(body[: len(body) // 2])
                await self._drain(writer)
                return False  # a clean FIN, short of the announced length
            case "wrong_shape":
                writer.write(as_json(200, {"status": "ok", "data": [1, 2, 3], "id": "seven"}))
            case "huge":
                return await self._huge(writer, int(self.params.get("bytes", 50 * MIB)))
            case "gzip_bomb":
                assert self._bomb is not None
                bomb = await self._bomb
                extra = ("Content-Encoding", "gzip")
                writer.write(response(200, bomb, "application/json", extra))
            case "reset":
                body = self._healthy_body(request)
                writer.write(head(200, [("Content-Type", "application/json")], len(body)))
                writer.write(body[: len(body) // 2])
                await self._drain(writer)
                reset_connection(writer)
                return False
            case "redirect":
                trap = f"http://localhost:{self.control_port}/__trap"
                location = str(self.params.get("location", trap))
                writer.write(response(302, b"moved", "text/plain", ("Location", location)))
            case _:
                writer.write(self._healthy(request))
        await self._drain(writer)
        return True

    async def _drain(self, writer: asyncio.StreamWriter) -> None:
        await asyncio.wait_for(writer.drain(), MAX_HOLD_SECONDS)

    async def _drip(
        self, request: Request, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> bool:
        interval = float(self.params.get("interval", 0.5))
        body = self._healthy_body(request)
        writer.write(head(200, [("Content-Type", "application/json")], len(body)))
        for index in range(len(body)):
            writer.write(body[index : index + 1])
            await self._drain(writer)
            if await peer_closed_within(reader, interval):
                return False
        return True

    async def _huge(self, writer: asyncio.StreamWriter, size: int) -> bool:
        writer.write(head(200, [("Content-Type", "application/json")], size))
        sent = 0
        while sent < size:
            piece = min(CHUNK, size - sent)
            writer.write(b" " * piece)
            await self._drain(writer)
            sent += piece
        return True

    def _record(self, request: Request, connection: Connection) -> None:
        self.stats.calls += 1
        if len(self.stats.requests) < MAX_LOG:
            self.stats.requests.append(
                {
                    "method": request.method,
                    "target": request.target,
                    "path": request.path,
                    "query": request.query,
                    "request_id": request.headers.get("x-request-id"),
                    "connection": connection.id,
                    "at": time.time(),
                }
            )

    def _healthy_body(self, request: Request) -> bytes:
        _, document = self._healthy_document(request)
        return json.dumps(document).encode()

    def _healthy(self, request: Request) -> bytes:
        status, document = self._healthy_document(request)
        content_type = "application/json" if status == 200 else "application/problem+json"
        return as_json(status, document, content_type)

    def _healthy_document(self, request: Request) -> tuple[int, object]:
        params = dict(request.query)
        lang = params.get("lang", "fr")
        if self.service == "joke" and request.path == "/joke":
            return 200, {"id": 7, "joke": DUCK_JOKE, "lang": lang}
        if self.service == "weather" and request.path == "/weather":
            city = params.get("city", "")
            if city.casefold() != "nowhere":
                body = weather_body(city, lang)
                if "temperature" in self.params:  # healthy, with a reading of the test's choice
                    body["temperature"] = float(self.params["temperature"])
                return 200, body
            return 404, _problem(404, "CITY_NOT_FOUND", f"No city named {city!r}.")
        return 404, _problem(404, "NOT_FOUND", "No such route.")

    # Control port.

    async def _serve_control(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        try:
            while (request := await read_request(reader)) is not None:
                writer.write(await self._control(request))
                await self._drain(writer)
        except (ConnectionError, TimeoutError):
            pass
        finally:
            writer.close()

    async def _control(self, request: Request) -> bytes:
        match request.method, request.path:
            case "POST", "/__control":
                try:
                    params = json.loads(request.body)
                    await self.set_mode(str(params.pop("mode")), params)
                except (ValueError, KeyError, OSError) as exc:
                    return as_json(400, {"error": str(exc)})
                return as_json(200, {"mode": self.mode, **self.params})
            case "GET", "/__stats":
                return as_json(200, self.stats_json())
            case "POST", "/__reset":
                self.reset()
                return as_json(200, {"reset": True})
            case _, "/__trap":
                self.stats.trap_hits += 1
                return response(200, b"trapped", "text/plain")
            case "GET", "/health":
                return as_json(200, {"status": "ok"})
        return as_json(404, {"error": "no such control route"})


def _problem(status: int, code: str, detail: str) -> dict[str, object]:
    return {
        "type": "about:blank",
        "title": "Not found",
        "status": status,
        "detail": detail,
        "code": code,
    }


async def _main(args: argparse.Namespace) -> None:
    stub = Stub(args.service, args.host, args.port, args.control_port)
    await stub.start()
    print(
        f"stub {args.service}: serving on http://{args.host}:{args.port}, "
        f"control on http://{args.host}:{args.control_port}",
        flush=True,
    )
    # Until SIGTERM ends the process; the lifetime bound only matters to an orphaned stub.
    await asyncio.sleep(args.lifetime_seconds)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.support.stub_upstream")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--control-port", type=int, required=True)
    parser.add_argument("--service", choices=["weather", "joke"], default="joke")
    parser.add_argument("--lifetime-seconds", type=float, default=900.0)
    asyncio.run(_main(parser.parse_args()))


if __name__ == "__main__":
    main()
