"""``python -m <service>``: run one Canaduck service under uvicorn."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import uvicorn

from canaduck.logs import LOG_FORMATS, configure_structlog, logging_config
from canaduck.protocol import AdmittingHttpToolsProtocol
from canaduck.server import run

LOG_LEVELS = ["critical", "error", "warning", "info", "debug"]


def serve(
    *,
    name: str,
    app_factory: str,
    default_port: int,
    description: str,
    access_log: bool = True,
    argv: Sequence[str] | None = None,
) -> None:
    """Parse ``--host/--port`` and serve ``app_factory`` (a ``module:function`` path).

    ``access_log=False`` for a service that writes its own line per request (the gateway).
    """
    parser = argparse.ArgumentParser(prog=f"python -m {name}", description=description)
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=default_port, help="TCP port (default: %(default)s)"
    )
    parser.add_argument(
        "--log-level",
        default=os.environ.get("LOG_LEVEL", "info").lower(),
        choices=LOG_LEVELS,
        help="default: $LOG_LEVEL or info",
    )
    parser.add_argument(
        "--log-format",
        default=os.environ.get("CANADUCK_LOG_FORMAT", "auto").lower(),
        choices=LOG_FORMATS,
        help="console (for people), json (for machines) or auto: console on a terminal or "
        "under honcho, json otherwise (default: $CANADUCK_LOG_FORMAT or auto)",
    )
    parser.add_argument("--no-access-log", action="store_true", help="silence per-request lines")
    parser.add_argument(
        "--workers",
        type=_workers,
        default=os.environ.get("WEB_CONCURRENCY", "1"),
        help="worker processes sharing the port: a number, or auto (one per usable CPU) "
        "(default: $WEB_CONCURRENCY or 1)",
    )
    args = parser.parse_args(argv)
    if args.log_format not in LOG_FORMATS:  # argparse checks choices given, not defaults
        parser.error(f"CANADUCK_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}")
    workers = f", {args.workers} workers" if args.workers > 1 else ""
    print(
        f"{name}: serving on http://{args.host}:{args.port}{workers}  "
        "(docs: /docs, health: /health)",
        flush=True,
    )
    configure_structlog()
    # factory=True: importing the module builds nothing; create_app() reads the environment.
    # canaduck.server.run is uvicorn.run plus the shutdown drain (for an app that has one).
    config = uvicorn.Config(
        app_factory,
        factory=True,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=logging_config(
            args.log_level,
            access_log=access_log and not args.no_access_log,
            log_format=args.log_format,
        ),
        access_log=access_log and not args.no_access_log,
        proxy_headers=False,
        workers=args.workers,
        # uvicorn's httptools protocol, plus an early refusal under overload and the
        # request's arrival time (canaduck.protocol).
        http=AdmittingHttpToolsProtocol,
    )
    run(config)


def _workers(value: str) -> int:
    """``auto`` → the CPUs this process may use (a container's cpuset, not the host's)."""
    if value.strip().lower() == "auto":
        return max(1, len(os.sched_getaffinity(0)))
    try:
        workers = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of workers: {value!r}") from None
    if workers < 1:
        raise argparse.ArgumentTypeError("at least one worker")
    return workers
