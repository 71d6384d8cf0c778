"""Log lines: JSON for machines, readable lines for people at a terminal or under honcho."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

from canaduck.cli import serve
from canaduck.logs import resolve_format

ROOT = Path(__file__).resolve().parents[2]

# What a service does at start (canaduck.cli.serve, then uvicorn's dictConfig), then one
# structlog event like the gateway's request line and one standard-library record like
# uvicorn's own.
SCRIPT = """
import logging, logging.config, sys
import structlog
from canaduck.logs import configure_structlog, logging_config
configure_structlog()
logging.config.dictConfig(logging_config("info", log_format=sys.argv[1]))
structlog.get_logger("gateway.request").info("request", route="/fullinfo", status=200)
logging.getLogger("uvicorn.error").info("Application startup complete.")
"""


def environment(**env: str) -> dict[str, str]:
    """This process's environment, minus honcho's mark (pytest may run under honcho)."""
    return {**{k: v for k, v in os.environ.items() if k != "HONCHO_PROCESS_NAME"}, **env}


def run(log_format: str, **env: str) -> list[str]:
    """The stderr lines of SCRIPT, run with stderr piped (as in a container)."""
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, log_format],
        env=environment(**env),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    return done.stderr.splitlines()


def test_json_lines_for_machines() -> None:
    """Under json every line, ours and uvicorn's, is one JSON object."""
    request, startup = (json.loads(line) for line in run("json"))
    assert request["event"] == "request"
    assert request["route"] == "/fullinfo"
    assert request["status"] == 200
    assert request["level"] == "info"
    assert request["logger"] == "gateway.request"
    assert startup["event"] == "Application startup complete."
    assert startup["logger"] == "uvicorn.error"


def test_console_lines_for_people() -> None:
    """Under console a line reads as level, event and key=value, with no colour codes in a pipe."""
    request, startup = run("console")
    assert "[info" in request
    assert "request" in request
    assert "route=/fullinfo status=200" in request  # in the order they were logged
    assert "Application startup complete." in startup
    assert "\x1b[" not in request + startup
    with pytest.raises(json.JSONDecodeError):
        json.loads(request)


def test_auto_is_json_in_a_pipe() -> None:
    """auto with stderr piped and no honcho (a container, a log shipper) writes JSON."""
    [request, _] = run("auto")
    assert json.loads(request)["event"] == "request"


def test_auto_is_console_under_honcho() -> None:
    """auto under honcho, which pipes output to a terminal, writes readable lines."""
    [request, _] = run("auto", HONCHO_PROCESS_NAME="gateway.1")
    assert "route=/fullinfo status=200" in request


def test_auto_is_coloured_console_on_a_terminal() -> None:
    """auto with stderr on a terminal writes readable, coloured lines."""
    primary, replica = pty.openpty()
    try:
        subprocess.run(
            [sys.executable, "-c", SCRIPT, "auto"],
            env=environment(),
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=replica,
            timeout=30,
            check=True,
        )
        output = os.read(primary, 65536).decode()
    finally:
        os.close(primary)
        os.close(replica)
    assert "route" in output
    assert "/fullinfo" in output
    assert "\x1b[" in output
    assert not output.lstrip().startswith("{")


def test_unknown_format_is_refused() -> None:
    """A misspelt format fails at start rather than logging in a surprise format."""
    with pytest.raises(ValueError, match="auto, console, json"):
        resolve_format("xml")


def test_cli_refuses_an_unknown_format_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """CANADUCK_LOG_FORMAT=xml stops the service with a usage error naming the choices."""
    monkeypatch.setenv("CANADUCK_LOG_FORMAT", "xml")
    with pytest.raises(SystemExit) as exit_:
        serve(name="demo", app_factory="demo:create_app", default_port=9, description="", argv=[])
    assert exit_.value.code == 2
    assert "auto, console, json" in capsys.readouterr().err


FAST_LINE = """
import logging, logging.config, sys
import structlog
from canaduck.logs import configure_structlog, json_line, logging_config
configure_structlog()
logging.config.dictConfig(logging_config("info", log_format=sys.argv[1]))
fields = {"route": "/fullinfo", "status": 200, "upstreams": {"weather": {"cache": "hit"}}}
structlog.get_logger("gateway.request").info("request", **fields)
print(json_line(logging.getLogger("gateway.request"), "request", fields), file=sys.stderr)
"""


def fast_line_stderr(log_format: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", FAST_LINE, log_format],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment(),
        timeout=30,
        check=True,
    )
    return done.stderr.splitlines()


def test_the_request_lines_shortcut_writes_the_formatters_very_line() -> None:
    """json_line writes what structlog's JSON renderer writes, timestamp apart."""
    slow, fast, took = fast_line_stderr("json")
    assert took == "True"
    slow_event, fast_event = json.loads(slow), json.loads(fast)
    assert slow_event.pop("timestamp")[:16] == fast_event.pop("timestamp")[:16]
    assert list(slow_event.items()) == list(fast_event.items())


def test_the_shortcut_steps_aside_for_console_lines() -> None:
    """On console lines json_line writes nothing and says so."""
    assert fast_line_stderr("console")[-1] == "False"
