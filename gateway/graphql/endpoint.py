"""``/graphql`` over HTTP, the fast way: pure ASGI in front of Strawberry's router.

It answers every plain GraphQL request (GET and POST) itself, following the
GraphQL-over-HTTP specification (graphql.github.io/graphql-over-http):

* ``application/graphql-response+json`` when the client accepts it, with 400 for parse,
  validation and variable-coercion failures (and no ``data`` entry then);
  ``application/json`` otherwise (always 200, as legacy clients expect);
* an unsupported method, media type or ``Accept`` gets the spec's status (405, 415, 406)
  with problem JSON; ``OPTIONS`` answers which methods exist;
* queries over GET only where the settings allow them, and then only with a header a
  browser cannot send cross-site without a CORS preflight (Apollo's CSRF prevention);
* Apollo's automatic persisted queries, and an optional allow-list of trusted documents.

A query runs through a prepared operation (``prepared``) when it can, else through the
reference execution (Strawberry's ``schema.execute``, with every schema extension). What
is not a plain request goes on to Strawberry's router unchanged: the GraphiQL page,
WebSocket subscriptions and ``Accept: text/event-stream`` streams.

Every error carries ``extensions.code`` and the ``requestId``; ``X-Canaduck-Completed:
false`` marks an answer with errors.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

import orjson
from fastapi import FastAPI
from graphql import GraphQLError, OperationType
from starlette.types import ASGIApp, Receive, Scope, Send
from strawberry.fastapi import GraphQLRouter

from canaduck.problems import problem_body
from gateway import context
from gateway.config import GatewaySettings
from gateway.errors import ApiError
from gateway.graphql.persisted import PersistedQueries, PersistedQueryError, load_manifest
from gateway.graphql.prepared import Preparer, Runner, coerce_variables
from gateway.graphql.router import (
    COMPLETED_HEADER,
    PREFLIGHT_HEADERS,
    GatewayGraphQLRouter,
    add_code_and_request_id,
)
from gateway.graphql.schema import Context, DocumentRules, GatewaySchema, build_schema, get_context
from gateway.upstream.services import Upstreams

logger = logging.getLogger("gateway.graphql")

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
JSON = "application/json"
PROBLEM_JSON = b"application/problem+json"
ALLOW = b"GET, POST, OPTIONS"
_PREFLIGHT = tuple(name.encode() for name in PREFLIGHT_HEADERS)
_CONTENT_TYPES = {
    GRAPHQL_RESPONSE_JSON: b"application/graphql-response+json; charset=utf-8",
    JSON: b"application/json",
}


class RequestError(Exception):
    """The HTTP request itself is unusable: a problem JSON answer with ``status``."""

    def __init__(
        self, status: int, code: str, title: str, detail: str, headers: Mapping[bytes, bytes] = {}
    ) -> None:
        super().__init__(detail)
        self.status, self.code, self.title, self.detail = status, code, title, detail
        self.headers = dict(headers)


@dataclass(frozen=True, slots=True)
class Params:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


class GraphQLEndpoint:
    """The HTTP side of ``/graphql``; ``app`` is the rest of the gateway."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: GatewaySettings,
        schema: GatewaySchema,
        rules: DocumentRules,
        persisted: PersistedQueries,
        path: str = "/graphql",
    ) -> None:
        self.app = app
        self.path = path
        self.schema = schema
        self.get_enabled = settings.get_queries_enabled
        self.persisted = persisted
        self.preparer = Preparer(
            schema._schema,
            rules=rules.rules,
            limits=rules.limits,
            max_tokens=rules.max_tokens,
            introspection=rules.introspection,
            suggestions=rules.suggestions,
        )
        self.runner = Runner(schema._schema)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        headers = _headers(scope)
        accept = headers.get(b"accept", b"").decode("latin-1").lower()
        method = scope["method"]
        if "text/event-stream" in accept or (method == "GET" and "text/html" in accept):
            # A stream, or a browser's page load (GraphiQL, its ?query= links included).
            await self.app(scope, receive, send)
            return
        try:
            media = _negotiate(accept)
            params = await self._params(scope, receive, method, headers)
            status, body = await self._answer(scope, params, media, method)
        except RequestError as exc:
            await _send_problem(send, exc)
            return
        completed = b"false" if body.get("errors") else b"true"
        payload = orjson.dumps(body)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", _CONTENT_TYPES[media]),
                    (b"content-length", str(len(payload)).encode()),
                    (COMPLETED_HEADER.lower().encode(), completed),
                ],
            }
        )
        await send({"type": "http.response.body", "body": payload})

    # ------------------------------------------------------------ the request

    async def _params(
        self, scope: Scope, receive: Receive, method: str, headers: dict[bytes, bytes]
    ) -> Params:
        if method == "OPTIONS":
            raise RequestError(204, "", "", "", {b"allow": ALLOW})
        if method == "GET":
            return self._get_params(scope, headers)
        if method != "POST":
            raise RequestError(
                405,
                "METHOD_NOT_ALLOWED",
                "Method not allowed",
                "GraphQL requests are GET or POST.",
                {b"allow": ALLOW},
            )
        content_type = headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()
        if content_type != b"application/json":
            raise RequestError(
                415,
                "UNSUPPORTED_MEDIA_TYPE",
                "Unsupported media type",
                "Send GraphQL requests as POST with Content-Type: application/json.",
            )
        body = await _read_body(receive)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            raise _bad_request("The request body is not valid JSON.") from exc
        if not isinstance(data, dict):
            raise _bad_request("The request body must be one JSON object (batching is off).")
        return _checked(
            data.get("query"),
            data.get("variables"),
            data.get("operationName"),
            data.get("extensions"),
        )

    def _get_params(self, scope: Scope, headers: dict[bytes, bytes]) -> Params:
        if not self.get_enabled:
            raise RequestError(
                405,
                "METHOD_NOT_ALLOWED",
                "Method not allowed",
                "Queries over GET are off here; send them as POST with "
                "Content-Type: application/json.",
                {b"allow": b"POST, OPTIONS"},
            )
        if not any(name in headers for name in _PREFLIGHT):
            raise RequestError(
                400,
                "CSRF_PREFLIGHT_REQUIRED",
                "Preflight header required",
                "Queries over GET need an X-Canaduck-Preflight header (any value); "
                "or send them as POST with Content-Type: application/json.",
            )
        raw = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        try:
            variables = orjson.loads(raw["variables"]) if raw.get("variables") else None
            extensions = orjson.loads(raw["extensions"]) if raw.get("extensions") else None
        except orjson.JSONDecodeError as exc:
            raise _bad_request("variables and extensions must be JSON.") from exc
        return _checked(raw.get("query"), variables, raw.get("operationName"), extensions)

    # ------------------------------------------------------------ the answer

    async def _answer(
        self, scope: Scope, params: Params, media: str, method: str
    ) -> tuple[int, dict[str, Any]]:
        strict = media == GRAPHQL_RESPONSE_JSON
        try:
            query = self.persisted.resolve(params.query, params.extensions)
        except PersistedQueryError as exc:
            error = GraphQLError(exc.message, extensions={"code": exc.code})
            return (exc.status if strict else 200), self._errors_only([error], strict)
        prepared = self.preparer.prepare(query, params.operation_name)
        record = context.current_record()
        if record is not None:
            operation = prepared.operation
            named = operation.name.value if operation and operation.name else None
            record.operation = params.operation_name or named
        if prepared.errors is not None:
            return (400 if strict else 200), self._errors_only(prepared.errors, strict)
        operation = prepared.operation
        if operation is not None:
            if record is not None:
                record.fields = prepared.root_fields
            if method == "GET" and operation.operation is not OperationType.QUERY:
                raise RequestError(
                    405,
                    "METHOD_NOT_ALLOWED",
                    "Method not allowed",
                    "Only queries may be sent over GET.",
                    {b"allow": b"POST, OPTIONS"},
                )
            if operation.operation is OperationType.SUBSCRIPTION:
                raise _bad_request(
                    "Subscriptions need a WebSocket (graphql-transport-ws) or a request "
                    "with Accept: text/event-stream."
                )
        upstreams: Upstreams = scope["state"]["upstreams"]
        if not prepared.plannable:
            return await self._reference(params, query, upstreams, strict)
        variables = coerce_variables(self.preparer.schema, prepared, params.variables)
        if isinstance(variables, list):
            return (400 if strict else 200), self._errors_only(variables, strict)
        plan = self.preparer.plan(prepared, variables)
        if plan is None:
            return await self._reference(params, query, upstreams, strict)
        outcome = await self.runner.run(plan, variables, upstreams)
        errors = outcome.errors + [
            GraphQLError(error.detail, path=path, original_error=error)
            for path, error in outcome.warnings
        ]
        body: dict[str, Any] = {"data": outcome.data}
        if errors:
            _log(errors)
            body["errors"] = formatted_errors(errors)
        if record is not None and record.sources:
            body["extensions"] = {"sources": dict(record.sources)}
        return 200, body

    async def _reference(
        self, params: Params, query: str, upstreams: Upstreams, strict: bool
    ) -> tuple[int, dict[str, Any]]:
        """Strawberry's own execution, for what the prepared path does not plan."""
        result = await self.schema.execute(
            query,
            variable_values=params.variables,
            context_value=Context(upstreams),
            operation_name=params.operation_name,
            operation_extensions=params.extensions,
        )
        if result.data is None and result.errors:  # nothing ran: a request error
            return (400 if strict else 200), self._errors_only(result.errors, strict)
        body: dict[str, Any] = {"data": result.data}
        if result.errors:
            body["errors"] = formatted_errors(result.errors)
        if result.extensions:
            body["extensions"] = result.extensions
        return 200, body

    def _errors_only(self, errors: list[GraphQLError], strict: bool) -> dict[str, Any]:
        """A request error: no ``data`` entry under the spec's media type; ``data: null``
        under application/json, as the gateway always answered there."""
        _log(errors)
        body: dict[str, Any] = {} if strict else {"data": None}
        body["errors"] = formatted_errors(errors)
        return body


def mount_graphql(app: FastAPI, settings: GatewaySettings) -> None:
    """``/graphql``: the fast endpoint (a middleware, so call this before adding the
    request scope and observability middlewares, which must wrap it) in front of
    Strawberry's router (GraphiQL, subscriptions)."""
    rules = DocumentRules.from_settings(settings)
    schema = build_schema(settings, rules)
    trusted = load_manifest(settings.trusted_documents) if settings.trusted_documents else None
    persisted = PersistedQueries(
        trusted=trusted,
        apq=settings.persisted_queries,
        maxsize=settings.persisted_queries_max_entries,
    )
    app.add_middleware(
        GraphQLEndpoint, settings=settings, schema=schema, rules=rules, persisted=persisted
    )
    # GraphiQL's files come from /static/vendor when installed, so it works offline.
    router: GraphQLRouter[Any, None] = GatewayGraphQLRouter(
        schema,
        context_getter=get_context,
        graphql_ide="graphiql" if settings.graphiql_enabled else None,
        allow_queries_via_get=settings.get_queries_enabled,
    )
    app.include_router(router, prefix="/graphql")


# ---------------------------------------------------------------- helpers


def _headers(scope: Scope) -> dict[bytes, bytes]:
    return {name: value for name, value in scope["headers"]}


def _negotiate(accept: str) -> str:
    """The response media type for this Accept header (the spec's watershed rules)."""
    if not accept:
        return JSON
    if GRAPHQL_RESPONSE_JSON in accept:
        return GRAPHQL_RESPONSE_JSON
    if JSON in accept or "*/*" in accept or "application/*" in accept:
        return JSON
    raise RequestError(
        406,
        "NOT_ACCEPTABLE",
        "Not acceptable",
        f"GraphQL answers are {GRAPHQL_RESPONSE_JSON} or {JSON}; the Accept header allows neither.",
    )


def _bad_request(detail: str) -> RequestError:
    return RequestError(400, "BAD_REQUEST", "Bad GraphQL request", detail)


def _checked(query: Any, variables: Any, operation_name: Any, extensions: Any) -> Params:
    if query is not None and not isinstance(query, str):
        raise _bad_request("query must be a string.")
    if variables is not None and not isinstance(variables, dict):
        raise _bad_request("variables must be a JSON object.")
    if operation_name is not None and not isinstance(operation_name, str):
        raise _bad_request("operationName must be a string.")
    if extensions is not None and not isinstance(extensions, dict):
        raise _bad_request("extensions must be a JSON object.")
    if query is None and not (extensions or {}).get("persistedQuery"):
        raise _bad_request("No GraphQL query found in the request.")
    return Params(query, variables, operation_name, extensions)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def formatted_errors(errors: Sequence[GraphQLError]) -> list[dict[str, Any]]:
    """Each error as JSON, as every GraphQL error of the gateway leaves it."""
    return [add_code_and_request_id(dict(error.formatted)) for error in errors]


def _log(errors: list[GraphQLError]) -> None:
    # One short line per expected error (crashes were logged with their traceback).
    for error in errors:
        original = error.original_error
        if original is not None and not isinstance(original, ApiError):
            continue
        code = (error.extensions or {}).get("code", "GRAPHQL_VALIDATION_FAILED")
        logger.info(
            "graphql.error code=%s path=%s message=%s", code, error.path, error.message[:200]
        )


async def _send_problem(send: Send, error: RequestError) -> None:
    headers = [*error.headers.items()]
    if error.status == 204:
        await send({"type": "http.response.start", "status": 204, "headers": headers})
        await send({"type": "http.response.body", "body": b""})
        return
    problem = problem_body(
        error.status, error.code, error.title, error.detail, **context.problem_context()
    )
    payload = orjson.dumps(problem)
    headers += [(b"content-type", PROBLEM_JSON), (b"content-length", str(len(payload)).encode())]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": payload})
