"""GraphQL over HTTP, the gateway's way: one error contract, a completion header, CSRF rules.

Done at the HTTP layer (not in a schema extension) because some errors never reach the
extensions' ``on_operation`` exit: a document over the token limit fails inside
ParserCache's ``on_parse`` hook and Strawberry builds that result outside the operation.
``process_result`` sees every result, whatever produced it.

* every error carries ``extensions.code`` (graphql-core's own errors get
  ``GRAPHQL_PARSE_FAILED`` / ``GRAPHQL_VALIDATION_FAILED``) and the ``requestId``;
* ``X-Canaduck-Completed: false`` whenever ``errors`` is not empty (KrakenD's
  ``X-KrakenD-Completed`` idea), so monitors and curl scripts see partial answers;
* queries over GET only where the settings allow them (development by default), and then
  only with a header a browser cannot send cross-site without a CORS preflight, so a
  malicious page cannot make a visitor's browser run queries (Apollo's CSRF prevention).
  Form and ``text/plain`` POSTs are already refused by Strawberry (400).
"""

from __future__ import annotations

from typing import Any, TypeVar

from fastapi import Depends, Request, Response
from starlette.requests import HTTPConnection
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema import BaseSchema
from strawberry.types import ExecutionResult

from canaduck.problems import ApiError
from gateway import context
from gateway.graphql.live_transport import (
    STREAM_TRANSPORTS,
    SUBSCRIPTION_PROTOCOLS,
    LiveTransportWSHandler,
)
from gateway.pages.graphiql import OfflineGraphQLRouter

COMPLETED_HEADER = "X-Canaduck-Completed"
# Any of these makes a GET query safe: none is a CORS-safelisted header.
PREFLIGHT_HEADERS = ("x-canaduck-preflight", "apollo-require-preflight", "x-apollo-operation-name")

ContextT = TypeVar("ContextT")
RootValueT = TypeVar("RootValueT")


class PreflightRequired(ApiError):
    status_code = 400
    code = "CSRF_PREFLIGHT_REQUIRED"
    title = "Preflight header required"


async def require_preflight_on_get(request: HTTPConnection) -> None:
    """Refuse a GET query without a non-simple header (a possible cross-site request)."""
    # HTTPConnection, not Request: the router's WebSocket route resolves this too.
    if not isinstance(request, Request) or request.method != "GET":
        return
    if "query" not in request.query_params:
        return
    if not any(name in request.headers for name in PREFLIGHT_HEADERS):
        raise PreflightRequired(
            "Queries over GET need an X-Canaduck-Preflight header (any value); "
            "or send them as POST with Content-Type: application/json."
        )


def default_code(message: str) -> str:
    """A code for the errors graphql-core raises itself (ours always carry one)."""
    return (
        "GRAPHQL_PARSE_FAILED"
        if message.startswith("Syntax Error")
        else ("GRAPHQL_VALIDATION_FAILED")
    )


def add_code_and_request_id(error: dict[str, Any]) -> dict[str, Any]:
    """A formatted error with ``extensions.code`` (graphql-core's own errors get one) and
    the request's ID: what every GraphQL error of the gateway carries."""
    extensions = {
        "code": default_code(str(error.get("message", ""))),
        **(error.get("extensions") or {}),
    }
    rid = context.request_id()
    if rid is not None:
        extensions["requestId"] = rid
    error["extensions"] = extensions
    return error


class GatewayGraphQLRouter(OfflineGraphQLRouter[ContextT, RootValueT]):
    def __init__(self, schema: BaseSchema, *, allow_queries_via_get: bool, **kwargs: Any) -> None:
        live = getattr(schema, "subscription", None) is not None
        if live:  # graphql-transport-ws and SSE, with the bounds of ``live_transport``
            kwargs.setdefault("subscription_protocols", SUBSCRIPTION_PROTOCOLS)
            kwargs.setdefault("max_subscriptions_per_connection", None)  # the handler's, coded
        super().__init__(
            schema,
            allow_queries_via_get=allow_queries_via_get,
            dependencies=[Depends(require_preflight_on_get)],
            **kwargs,
        )
        if live:
            self.graphql_transport_ws_handler_class = LiveTransportWSHandler
            self.stream_transport_classes_by_protocol = STREAM_TRANSPORTS

    async def process_result(
        self, request: Request, result: ExecutionResult
    ) -> GraphQLHTTPResponse:
        response = await super().process_result(request, result)
        for error in response.get("errors") or ():
            if isinstance(error, dict):  # typed as object; formatted errors are dicts
                add_code_and_request_id(error)
        return response

    def create_response(
        self, response_data: GraphQLHTTPResponse | list[GraphQLHTTPResponse], sub_response: Response
    ) -> Response:
        response = super().create_response(response_data, sub_response)
        results = response_data if isinstance(response_data, list) else [response_data]
        complete = not any(result.get("errors") for result in results)
        response.headers[COMPLETED_HEADER] = "true" if complete else "false"
        return response
