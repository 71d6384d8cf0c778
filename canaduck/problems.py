"""Errors as RFC 9457 problem details, one vocabulary for every Canaduck service.

Every error a service means to report derives from :class:`ApiError`. It carries a stable
machine ``code`` (SCREAMING_SNAKE), an HTTP ``status_code`` and optional ``extra`` members.
The REST handlers installed by :func:`install_problem_handlers` render it as
``application/problem+json``; the gateway's GraphQL layer reads the same object through
:attr:`ApiError.extensions` (graphql-core copies ``original_error.extensions`` into
``errors[].extensions``), so both doors speak the same codes.

Routes document these answers with :func:`problem_responses`, so their OpenAPI says
``application/problem+json`` where FastAPI would otherwise promise its own 422 JSON.

Anything else that escapes a route becomes a bare 500 ``INTERNAL_ERROR`` with no detail:
a stack trace never reaches a client.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"


class ApiError(Exception):
    """An error a client is meant to see, with a stable code."""

    status_code: ClassVar[int] = 500
    code: ClassVar[str] = "INTERNAL_ERROR"
    title: ClassVar[str] = "Internal error"

    def __init__(
        self,
        detail: str,
        *,
        extra: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra: dict[str, Any] = dict(extra or {})
        self.headers: dict[str, str] = dict(headers or {})

    @property
    def extensions(self) -> dict[str, Any]:
        """What GraphQL puts in ``errors[].extensions`` for this error."""
        return {"code": self.code, **self.extra}

    def to_problem(self) -> dict[str, Any]:
        return problem_body(self.status_code, self.code, self.title, self.detail, **self.extra)


class InvalidInput(ApiError):
    status_code = 422
    code = "INVALID_INPUT"
    title = "Invalid input"


class Problem(BaseModel):
    """An RFC 9457 problem; its `code` member says what happened."""

    model_config = ConfigDict(extra="allow")

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    code: str


def problem_responses(descriptions: Mapping[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's ``responses=``: each status documented as the problem JSON our handlers send.

    Without it FastAPI documents its own 422 (``application/json``, ``HTTPValidationError``),
    which is not what :func:`install_problem_handlers` answers.
    """
    return {
        status: {
            "description": description,
            "content": {PROBLEM_JSON: {"schema": Problem.model_json_schema()}},
        }
        for status, description in descriptions.items()
    }


def problem_body(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": "about:blank",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def problem_response(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    headers: Mapping[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        problem_body(status, code, title, detail, **extra),
        status_code=status,
        headers=dict(headers or {}),
        media_type=PROBLEM_JSON,
    )


def error_response(error: ApiError, **extra: Any) -> JSONResponse:
    """Render an :class:`ApiError` as problem JSON; ``extra`` adds members (e.g. requestId)."""
    body = {**error.to_problem(), **extra}
    return JSONResponse(
        body, status_code=error.status_code, headers=error.headers, media_type=PROBLEM_JSON
    )


def _validation_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    # Pydantic's raw errors can hold the offending input and a docs URL; keep what helps
    # a client fix its request (where, what) and drop the rest.
    return [
        {"loc": [str(part) for part in err.get("loc", ())], "msg": str(err.get("msg", ""))}
        for err in exc.errors()
    ]


ProblemContext = Callable[[], Mapping[str, Any]]


def _no_context() -> Mapping[str, Any]:
    return {}


def install_problem_handlers(app: FastAPI, context: ProblemContext = _no_context) -> None:
    """Make every error leave ``app`` as problem JSON (4xx with detail, 5xx without).

    ``context`` adds members to every problem (the gateway adds its ``requestId``).
    """

    async def on_api_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return error_response(exc, **context())

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = _validation_errors(exc)
        where = ", ".join(".".join(e["loc"][1:] or e["loc"]) for e in errors) or "request"
        return problem_response(
            422,
            InvalidInput.code,
            InvalidInput.title,
            f"Invalid value for: {where}",
            errors=errors,
            **context(),
        )

    async def on_http_exception(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "HTTP_ERROR")
        title = str(exc.detail) if isinstance(exc.detail, str) else "HTTP error"
        return problem_response(
            exc.status_code, code, title, title, headers=exc.headers, **context()
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Starlette's ServerErrorMiddleware re-raises after this handler answers, so the
        # server still logs the traceback once; the client only sees a bare 500.
        return problem_response(
            500, ApiError.code, ApiError.title, "The server met an unexpected error.", **context()
        )

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_exception)
    app.add_exception_handler(Exception, on_unexpected)
