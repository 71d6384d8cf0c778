"""Schema extensions of the gateway (the limits and masking live in ``graphql_limits``)."""

from __future__ import annotations

from collections.abc import Iterator

from graphql import FieldNode, get_operation_ast
from strawberry.extensions import SchemaExtension

from gateway.observability import current_record


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
