"""``python -m <service>``: run one Canaduck service under uvicorn."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import uvicorn


def serve(
    *,
    name: str,
    app_factory: str,
    default_port: int,
    description: str,
    argv: Sequence[str] | None = None,
) -> None:
    """Parse ``--host/--port`` and serve ``app_factory`` (a ``module:function`` path)."""
    parser = argparse.ArgumentParser(prog=f"python -m {name}", description=description)
    parser.add_argument(
        "--host", default="127.0.0.1", help="interface to bind (default: %(default)s)"
    )
    parser.add_argument(
        "--port", type=int, default=default_port, help="TCP port (default: %(default)s)"
    )
    parser.add_argument(
        "--log-level", default="info", choices=["critical", "error", "warning", "info", "debug"]
    )
    parser.add_argument("--no-access-log", action="store_true", help="silence per-request lines")
    args = parser.parse_args(argv)
    print(
        f"{name}: serving on http://{args.host}:{args.port}  (docs: /docs, health: /health)",
        flush=True,
    )
    # factory=True: importing the module builds nothing; create_app() reads the environment.
    uvicorn.run(
        app_factory,
        factory=True,
        host=args.host,
        port=args.port,
        log_level=args.log_level,
        access_log=not args.no_access_log,
        proxy_headers=False,
    )
