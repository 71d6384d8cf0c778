"""canaduck.server: what a served process does to its heap once it has started."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

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


def test_the_heap_alive_at_startup_is_frozen() -> None:
    """Full collections walked the whole startup heap and stopped the loop for ~100 ms."""
    done = subprocess.run(
        [sys.executable, "-c", SERVE_AND_REPORT],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    report = json.loads(done.stdout.strip().splitlines()[-1])
    before, after = report["before"], report["after"]
    assert before["frozen"] == 0
    assert after["frozen"] > 10_000  # modules, uvicorn, asyncio: all set aside
    assert after["threshold"] == before["threshold"]
