"""JSON log lines for every Canaduck process, from structlog and the standard library alike.

uvicorn applies :func:`logging_config` (its ``log_config``), so uvicorn's own records, our
``logging`` records and structlog events all leave as one JSON object per line on stderr.
"""

from __future__ import annotations

import logging
from typing import Any

import structlog

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


def logging_config(level: str, *, access_log: bool = True) -> dict[str, Any]:
    """A ``logging.config.dictConfig`` dict: JSON on stderr at ``level``."""
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_SHARED,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(ensure_ascii=False),
        ],
    )
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": lambda: formatter}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "formatter": "json",
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
