"""canaduck.server: what a served process does once it has started: its heap, its accepts."""

from __future__ import annotations

import json
import selectors
import socket
import subprocess
import sys
import textwrap
import time

# A fresh interpreter: the collector's state is per process, and this one's belongs to pytest.
SERVE_AND_REPORT = textwrap.dedent(
    """
    import asyncio, gc, json, uvicorn
    from canaduck.server import DrainingServer

    async def app(scope, receive, send):
        pass

    before = {"frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}
    config = uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off", log_level="warning")
    server = DrainingServer(config)

    async def main():
        task = asyncio.create_task(server.serve())
        for _ in range(500):  # at most ~5 s
            if server.started:
                break
            await asyncio.sleep(0.01)
        after = {"frozen": gc.get_freeze_count(), "threshold": gc.get_threshold()}
        server.should_exit = True
        await task
        print(json.dumps({"before": before, "after": after}))

    asyncio.run(main())
    """
)


def _last_line(script: str) -> str:
    """What ``script``, run in a fresh interpreter, printed last."""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=30, check=True
    )
    return done.stdout.strip().splitlines()[-1]


def test_the_heap_alive_at_startup_is_frozen() -> None:
    """Full collections walked the whole startup heap and stopped the loop for ~100 ms."""
    report = json.loads(_last_line(SERVE_AND_REPORT))
    before, after = report["before"], report["after"]
    assert before["frozen"] == 0
    assert after["frozen"] > 10_000  # modules, uvicorn, asyncio: all set aside
    assert after["threshold"] == before["threshold"]


# A server on uvloop answering "ok" to any request: it prints its port, serves until its
# stdin closes, then says whether its port still takes connections. "busy": its event loop
# turns no faster than every 20 ms (a busy gateway's turn under a flood); "few-descriptors":
# it may open 64 file descriptors.
SERVE_OK = textwrap.dedent(
    """
    import asyncio, resource, socket, sys, time, uvicorn, uvloop
    from canaduck.server import DrainingServer

    MODE = sys.argv[1]

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, loop="uvloop", lifespan="off", log_level="warning"
    )
    server = DrainingServer(config)

    async def hog():
        while True:
            time.sleep(0.02)  # the loop's every turn takes at least this long
            await asyncio.sleep(0)

    async def main():
        task = asyncio.create_task(server.serve())
        for _ in range(500):  # at most ~5 s
            if server.started:
                break
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        if MODE == "few-descriptors":
            resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
        print(port, flush=True)
        busy = asyncio.create_task(hog()) if MODE == "busy" else None
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
        if busy is not None:
            busy.cancel()
        server.should_exit = True
        await task
        try:
            socket.create_connection(("127.0.0.1", port), timeout=2).close()
            print("still accepting", flush=True)
        except ConnectionRefusedError:
            print("refused", flush=True)

    uvloop.run(main())
    """
)


def _serve_ok(mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", SERVE_OK, mode],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _first_answers(port: int, clients: int, timeout: float) -> tuple[list[float], int]:
    """Open ``clients`` connections at once, send a request on each; the seconds until
    each got the first bytes of its answer, and how many were closed without one."""
    sockets = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(clients)]
    selector = selectors.DefaultSelector()
    started = time.perf_counter()
    for sock in sockets:
        sock.sendall(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n")
        sock.setblocking(False)
        selector.register(sock, selectors.EVENT_READ)
    answered: list[float] = []
    closed = 0
    try:
        while len(answered) + closed < clients and time.perf_counter() - started < timeout:
            for key, _ in selector.select(timeout=0.1):
                try:
                    data = key.fileobj.recv(65536)  # type: ignore[union-attr]
                except ConnectionResetError:
                    data = b""
                if data:
                    answered.append(time.perf_counter() - started)
                else:
                    closed += 1
                selector.unregister(key.fileobj)
    finally:
        selector.close()
        for sock in sockets:
            sock.close()
    return answered, closed


def test_a_busy_server_accepts_a_burst_of_connections_at_once() -> None:
    """libuv accepts one connection per turn of the loop: with 20 ms turns, the 100th new
    client would wait 2 s before the server even saw it."""
    server = _serve_ok("busy")
    assert server.stdin is not None
    assert server.stdout is not None
    try:
        port = int(server.stdout.readline())
        answered, closed = _first_answers(port, clients=100, timeout=10)
        server.stdin.close()  # ends serving
        after = server.stdout.readline().strip()
        server.wait(timeout=20)
    finally:
        server.kill()
    assert (len(answered), closed) == (100, 0)
    # One accept per 20 ms turn: >= 2 s for the last; taken together: a few turns.
    assert max(answered) < 1.0, f"last answer after {max(answered):.2f} s"
    assert after == "refused"  # shut down: nothing listens on the port any more


def _get(port: int, within: float = 10.0) -> bytes:
    """An answer to one request, trying again while the server closes new connections
    (it may still be letting the previous clients go)."""
    deadline = time.monotonic() + within
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"GET / HTTP/1.1\r\nhost: test\r\nconnection: close\r\n\r\n")
                answer = sock.recv(65536)
        except ConnectionError:
            answer = b""
        if answer or time.monotonic() >= deadline:
            return answer
        time.sleep(0.1)


def test_out_of_descriptors_the_server_sheds_connections_and_recovers() -> None:
    """Past its descriptor limit, new connections are closed (libuv's own answer) and the
    extra accept rests instead of spinning; once clients leave, it serves again."""
    server = _serve_ok("few-descriptors")
    assert server.stdin is not None
    assert server.stdout is not None
    assert server.stderr is not None
    try:
        port = int(server.stdout.readline())
        assert _get(port).startswith(b"HTTP/1.1 200")
        answered, closed = _first_answers(port, clients=100, timeout=10)
        assert server.poll() is None  # alive
        assert _get(port).startswith(b"HTTP/1.1 200")  # the 100 have left: serving again
        server.stdin.close()
        server.wait(timeout=20)
        errors = server.stderr.read()
    finally:
        server.kill()
    # Some of the 100 were served, the rest closed by the server: none left hanging.
    assert len(answered) + closed == 100
    assert answered
    assert closed
    assert errors.count("Accepting connections failed") == 1  # one warning, not one per rest


# A connection accepted by BurstAccept in the very turn the server starts shutting down
# (forced here: the accept itself wakes the shutdown); prints how long the shutdown took.
SHUT_DOWN_AS_ONE_ARRIVES = textwrap.dedent(
    """
    import asyncio, socket, time, uvicorn, uvloop
    from canaduck import server as served

    async def app(scope, receive, send):
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    tick = asyncio.Event()
    accept = served.BurstAccept._accept

    def accept_then_exit(self):
        accept(self)
        tick.set()  # uvicorn's main loop wakes in the turn of the accept

    served.BurstAccept._accept = accept_then_exit

    class Server(served.DrainingServer):
        async def main_loop(self):
            await tick.wait()

    config = uvicorn.Config(
        app, host="127.0.0.1", port=0, loop="uvloop", lifespan="off", log_level="warning",
        timeout_keep_alive=5,
    )
    server = Server(config)

    async def main():
        task = asyncio.create_task(server.serve())
        for _ in range(500):  # at most ~5 s
            if server.started:
                break
            await asyncio.sleep(0.01)
        port = server.servers[0].sockets[0].getsockname()[1]
        client = await asyncio.to_thread(socket.create_connection, ("127.0.0.1", port))
        started = time.monotonic()
        await task
        print(round(time.monotonic() - started, 2), flush=True)
        client.close()

    uvloop.run(main())
    """
)


def test_a_connection_accepted_as_the_shutdown_starts_is_closed_with_the_rest() -> None:
    """Else it is served with keep-alive until its idle timeout (5 s) holds the exit."""
    assert float(_last_line(SHUT_DOWN_AS_ONE_ARRIVES)) < 3.0  # 0.1 s here; 5.3 s before
