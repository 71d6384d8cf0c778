"""``python -m <service>``: run one Canaduck service under uvicorn."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence

import uvicorn

from canaduck.logs import configure_structlog, logging_config

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
    parser.add_argument("--no-access-log", action="store_true", help="silence per-request lines")
    args = parser.parse_args(argv)
    print(
        f"{name}: serving on http://{args.host}:{args.port}  (docs: /docs, health: /health)",
        flush=True,
    )
    configure_structlog()
    # factory=True: importing the module builds nothing; create_app() reads the environment.
    uvicorn.run(
        app_factory,
        factory=True,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        log_config=logging_config(args.log_level, access_log=access_log and not args.no_access_log),
        access_log=access_log and not args.no_access_log,
        proxy_headers=False,
    )
