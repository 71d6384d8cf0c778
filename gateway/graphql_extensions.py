"""Schema extensions that give GraphQL responses the gateway's error contract."""

from __future__ import annotations

from collections.abc import AsyncIterator

from strawberry.extensions import SchemaExtension

from gateway import request_scope

# KrakenD's X-KrakenD-Completed idea: monitors and curl scripts see a partial answer without
# parsing the body. "false" whenever the response carries errors.
COMPLETED_HEADER = "X-Canaduck-Completed"


class ErrorContract(SchemaExtension):
    """Every error carries the request ID; the completion header tells if any occurred."""

    async def on_operation(self) -> AsyncIterator[None]:
        yield
        result = self.execution_context.result
        errors = result.errors if result is not None else None
        rid = request_scope.request_id()
        if errors and rid is not None:
            for error in errors:
                error.extensions = {**(error.extensions or {}), "requestId": rid}
        response = getattr(self.execution_context.context, "response", None)
        if response is not None:
            response.headers[COMPLETED_HEADER] = "false" if errors else "true"
