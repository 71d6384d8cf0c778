"""Schema extensions of the gateway (the limits and masking live in ``gateway.graphql.limits``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from graphql import FieldNode, GraphQLError, get_operation_ast
from strawberry.extensions import SchemaExtension

from gateway.context import current_record


class OperationRecorder(SchemaExtension):
    """Note the operation's name (for the log) and root fields (a bounded metrics label)."""

    def on_execute(self) -> Iterator[None]:
        record = current_record()
        context = self.execution_context
        if record is not None and context.graphql_document is not None:
            record.operation = context.operation_name
            operation = get_operation_ast(context.graphql_document, context.operation_name)
            if operation is not None:
                names = {
                    s.name.value
                    for s in operation.selection_set.selections
                    if isinstance(s, FieldNode)
                }
                record.fields = ",".join(sorted(names))
        yield


class Provenance(SchemaExtension):
    """``extensions.sources`` (where each upstream answer came from, how old it is) and
    the STALE_DATA errors of values served from the cache because their upstream failed."""

    def on_operation(self) -> Iterator[None]:
        yield
        result = self.execution_context.result
        warnings = getattr(self.execution_context.context, "warnings", None)
        if result is None or not warnings:
            return
        stale = [
            GraphQLError(error.detail, path=path, original_error=error) for path, error in warnings
        ]
        result.errors = [*(result.errors or []), *stale]

    def get_results(self) -> dict[str, Any]:
        record = current_record()
        return {"sources": dict(record.sources)} if record is not None and record.sources else {}
