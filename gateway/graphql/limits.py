"""What a GraphQL document may ask for, checked before any resolver (and upstream) runs.

Strawberry's own extensions bound depth, aliases and tokens. Two limits are ours:

* **directives per document**: a flood of (unknown) directives would otherwise produce one
  error and one log line each; we answer a single error instead;
* **field selections per document** (fragments included): ``{ __typename __typename ... }``
  500 times is legal GraphQL and cheap to parse, but pointless work (graphql-cop's field
  duplication probe); 100 covers any real query and GraphiQL's introspection (about 80);
* **upstream-fanning root fields per operation** (``fullinfo``, ``weather``, ``joke``): each
  costs up to two upstream calls, so ``{a: fullinfo(...) b: fullinfo(...) ...}`` is an
  amplification attack on the services behind us (Apollo's ``max_root_fields`` idea).

Both run in ``on_validate`` and, when broken, put exactly one error in place of graphql-core's
validation, which Strawberry then skips.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass, field

from graphql import (
    DirectiveNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    Visitor,
    visit,
)
from strawberry.extensions import MaskErrors, SchemaExtension

from canaduck.problems import ApiError

UPSTREAM_ROOT_FIELDS = frozenset({"fullinfo", "weather", "joke"})
TOO_COMPLEX = "QUERY_TOO_COMPLEX"


class _Counter(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.directives = 0
        self.fields = 0

    def enter_directive(self, node: DirectiveNode, *_: object) -> None:
        self.directives += 1

    def enter_field(self, node: FieldNode, *_: object) -> None:
        self.fields += 1


def count_nodes(document: DocumentNode) -> tuple[int, int]:
    """(directives, field selections) anywhere in ``document``."""
    counter = _Counter()
    visit(document, counter)
    return counter.directives, counter.fields


def _root_fields(
    selection_set: SelectionSetNode,
    fragments: dict[str, FragmentDefinitionNode],
    seen: frozenset[str] = frozenset(),
) -> Iterator[str]:
    for selection in selection_set.selections:
        if isinstance(selection, FieldNode):
            yield selection.name.value
        elif isinstance(selection, InlineFragmentNode):
            yield from _root_fields(selection.selection_set, fragments, seen)
        elif isinstance(selection, FragmentSpreadNode):
            name = selection.name.value
            if name in fragments and name not in seen:  # cycles are validation's business
                yield from _root_fields(fragments[name].selection_set, fragments, seen | {name})


def max_upstream_root_fields(document: DocumentNode) -> int:
    """The most upstream-fanning root fields any one operation of ``document`` selects."""
    fragments = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    counts = [
        sum(name in UPSTREAM_ROOT_FIELDS for name in _root_fields(d.selection_set, fragments))
        for d in document.definitions
        if isinstance(d, OperationDefinitionNode)
    ]
    return max(counts, default=0)


@dataclass(frozen=True)
class Limits:
    """The limits, and the verdicts already reached, shared by every request."""

    max_directives: int
    max_fields: int
    max_upstream_root_fields: int
    # ParserCache hands the same DocumentNode to every request with the same text, so a
    # verdict is kept by document (the document itself is kept too, so its id stays valid).
    _verdicts: OrderedDict[int, tuple[DocumentNode, str | None]] = field(
        default_factory=OrderedDict, compare=False
    )
    _max_verdicts: int = 256

    def violation(self, document: DocumentNode) -> str | None:
        known = self._verdicts.get(id(document))
        if known is not None and known[0] is document:
            return known[1]
        verdict = self._judge(document)
        self._verdicts[id(document)] = (document, verdict)
        if len(self._verdicts) > self._max_verdicts:
            self._verdicts.popitem(last=False)
        return verdict

    def _judge(self, document: DocumentNode) -> str | None:
        directives, fields = count_nodes(document)
        if directives > self.max_directives:
            return f"{directives} directives found. Allowed: {self.max_directives}"
        if fields > self.max_fields:
            return f"{fields} field selections found. Allowed: {self.max_fields}"
        root_fields = max_upstream_root_fields(document)
        if root_fields > self.max_upstream_root_fields:
            return (
                f"{root_fields} of fullinfo/weather/joke in one operation. "
                f"Allowed: {self.max_upstream_root_fields}"
            )
        return None


class DocumentLimits(SchemaExtension):
    """Refuse amplifying documents with one error, before validation and execution."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits

    def on_validate(self) -> Iterator[None]:
        document = self.execution_context.graphql_document
        violation = None if document is None else self.limits.violation(document)
        if violation is not None:
            # Set before Strawberry validates: it then skips graphql-core's validation.
            self.execution_context.pre_execution_errors = [
                GraphQLError(violation, extensions={"code": TOO_COMPLEX})
            ]
        yield


def is_unexpected(error: GraphQLError) -> bool:
    """Mask resolver crashes; keep our coded errors and GraphQL's own validation errors."""
    return error.original_error is not None and not isinstance(error.original_error, ApiError)


class MaskUnexpectedErrors(MaskErrors):
    """Strawberry's MaskErrors, sparing our errors and giving masked ones a code."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=is_unexpected, error_message="Unexpected error.")

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        masked = super().anonymise_error(error)
        masked.extensions = {"code": "INTERNAL_ERROR"}
        return masked
