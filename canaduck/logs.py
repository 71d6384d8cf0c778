"""Log lines for every Canaduck process, from structlog and the standard library alike.

uvicorn applies :func:`logging_config` (its ``log_config``), so uvicorn's own records, our
``logging`` records and structlog events all leave on stderr in one format:

- ``json``: one JSON object per line, for machines (containers, log shippers);
- ``console``: one aligned ``key=value`` line per event, for a person at a terminal;
- ``auto`` (the default): ``console`` when stderr is a terminal or the process runs under
  honcho (which pipes its children's output, but into a terminal), ``json`` otherwise.

``CANADUCK_LOG_FORMAT`` (or ``--log-format``) picks one; the Docker images set ``json``.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson
import structlog

LogFormat = Literal["console", "json"]
LOG_FORMATS = ["auto", "console", "json"]

_SHARED: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
]


def configure_structlog() -> None:
    """Route structlog through the standard library (idempotent; safe in tests)."""
    # No caller file/line in our lines, so skip the stack walk the standard library makes
    # for every record (the switch its source documents: "Setting _srcfile to None will
    # prevent findCaller() from being called"). Measured: a third of logging's cost.
    logging._srcfile = None
    structlog.configure(
        processors=[*_SHARED, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


def resolve_format(
    requested: str = "auto",
    *,
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> LogFormat:
    """``console`` or ``json``; ``auto`` looks at ``stream`` (stderr) and the environment."""
    requested = requested.lower()
    if requested == "console":
        return "console"
    if requested == "json":
        return "json"
    if requested != "auto":
        raise ValueError(f"log format must be one of {', '.join(LOG_FORMATS)}, not {requested!r}")
    stream = sys.stderr if stream is None else stream
    environ = os.environ if environ is None else environ
    # honcho sets HONCHO_PROCESS_NAME ("gateway.1") for each Procfile process it starts.
    return "console" if _is_tty(stream) or "HONCHO_PROCESS_NAME" in environ else "json"


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        return False


def _renderer(log_format: LogFormat, stream: TextIO) -> list[Any]:
    if log_format == "json":
        return [
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ]
    # Colours only for a real terminal: honcho and `| less` would show the escape codes.
    # Plain tracebacks: the rich ones print local variables, which may hold request data.
    return [
        structlog.dev.ConsoleRenderer(
            colors=_is_tty(stream),
            sort_keys=False,
            exception_formatter=structlog.dev.plain_traceback,
        )
    ]


def formatter(log_format: LogFormat) -> logging.Formatter:
    """The formatter of every line on stderr, for a resolved ``log_format``."""
    made = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            *_renderer(log_format, sys.stderr),
        ],
    )
    made.canaduck_format = log_format  # type: ignore[attr-defined]  # read by json_line
    return made


def json_line(logger: logging.Logger, event: str, fields: Mapping[str, Any]) -> bool:
    """Write an INFO event as the very line the JSON formatter would, skipping the
    structlog and logging machinery (about 0.1 CPU-ms a line, a tenth of a fast request).

    Only when the root logger's one handler is our JSON stream handler and ``logger`` logs
    INFO; otherwise (console lines, a test's capture, a level above INFO) it writes nothing
    and returns False, and the caller logs the usual way.
    """
    handlers = logging.root.handlers
    if len(handlers) != 1 or not logger.isEnabledFor(logging.INFO):
        return False
    handler = handlers[0]
    if (
        getattr(handler.formatter, "canaduck_format", None) != "json"
        or type(handler) is not logging.StreamHandler
    ):
        return False
    line = {
        **fields,
        "event": event,
        "level": "info",
        "logger": logger.name,
        "timestamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
    }
    handler.stream.write(orjson.dumps(line, default=str).decode() + "\n")
    return True


def logging_config(
    level: str, *, access_log: bool = True, log_format: str = "auto"
) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: ``log_format`` lines on stderr at ``level``."""
    resolved = resolve_format(log_format)
    return {
        "version": 1,
        "disable_existing_loggers": False,
        # By dotted name, not a closure: with --workers, uvicorn pickles this dict into
        # each worker process.
        "formatters": {resolved: {"()": "canaduck.logs.formatter", "log_format": resolved}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": resolved,
                "stream": "ext://sys.stderr",
            }
        },
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            "uvicorn": {"handlers": [], "propagate": True},
            "uvicorn.error": {"handlers": [], "propagate": True},
            # httpx logs every request it sends at INFO: one line per upstream call, and
            # the gateway's own request line already says what each upstream did.
            "httpx": {"level": "WARNING"},
            "uvicorn.access": {
                "handlers": [],
                "propagate": access_log,
                "level": "INFO" if access_log else "WARNING",
            },
        },
    }
