"""Prepared operations: parse, limit and validate a document once, then run it without
graphql-core's executor.

    request ──▶ Preparer.prepare(query, operationName)      LRU per (text, operation name)
                  ├── errors        parse / limits / validation: answered as they are
                  ├── plan = None   introspection, subscriptions, anything unusual:
                  │                 the reference execution (Strawberry) runs it
                  └── plan          the query's selections, collected per directive values
                        └── run(plan, variables, upstreams) ─▶ the response dict

The schema is small and fixed: three root fields, each fed by one or two upstream calls,
and object types whose fields are plain attributes. So a plan is the collected selection
tree, and running it is: coerce the variables (graphql-core), bind each root field's
arguments (graphql-core), start every upstream call the selection needs at once, and shape
each answer into exactly the selected keys. Strawberry stays the source of truth for the
schema, validation rules, introspection and GraphiQL; a differential test suite holds this
module to the reference execution's responses (data, errors with their paths, locations
and extensions, ``extensions.sources``).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from graphql import (
    BooleanValueNode,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    OperationType,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_operation_ast,
    located_error,
    parse,
    specified_rules,
    validate,
)
from graphql.execution.values import VariableValues, get_argument_values, get_variable_values
from graphql.validation import ASTValidationRule
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

from gateway.errors import ApiError
from gateway.graphql.limits import TOO_COMPLEX, Limits
from gateway.graphql.schema import checked_city, checked_country
from gateway.upstream.models import JokePayload, Lang, WeatherReport
from gateway.upstream.services import Answer, Upstreams

logger = logging.getLogger("gateway.graphql")

PREPARED_CACHE_SIZE = 512
UNEXPECTED = "Unexpected error."
ROOT_FIELDS = frozenset({"fullinfo", "weather", "joke"})


@dataclass(frozen=True, slots=True)
class Selection:
    """One response key of a selection set, with every field node merged into it."""

    key: str
    name: str
    nodes: tuple[FieldNode, ...]
    children: tuple[Selection, ...] = ()


@dataclass(slots=True)
class PreparedOperation:
    """What one (document, operation name) is, decided once."""

    errors: list[GraphQLError] | None = None  # a request error: no execution
    document: DocumentNode | None = None
    operation: OperationDefinitionNode | None = None
    plannable: bool = False
    # Root field names (a bounded metrics label) and the variables @skip/@include read.
    root_fields: str = ""
    directive_variables: tuple[str, ...] = ()
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict)
    plans: dict[tuple[Any, ...], tuple[Selection, ...]] = field(default_factory=dict)


class Preparer:
    """Prepared operations for one schema, in a bounded LRU."""

    def __init__(
        self,
        schema: GraphQLSchema,
        *,
        rules: Sequence[type[ASTValidationRule]],
        limits: Limits,
        max_tokens: int,
        introspection: bool,
        suggestions: bool,
        maxsize: int = PREPARED_CACHE_SIZE,
    ) -> None:
        self.schema = schema
        # graphql-core's rules, ours, and Strawberry's own (as its validate_document adds).
        self.rules = (*specified_rules, *rules, MaybeNullValidationRule, OneOfInputValidationRule)
        self.suggestions = suggestions
        self.limits = limits
        self.max_tokens = max_tokens
        self.introspection = introspection
        self.maxsize = maxsize
        self._cache: OrderedDict[tuple[str, str | None], PreparedOperation] = OrderedDict()

    def prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        key = (query, operation_name)
        prepared = self._cache.get(key)
        if prepared is not None:
            self._cache.move_to_end(key)
            return prepared
        prepared = self._prepare(query, operation_name)
        self._cache[key] = prepared
        if len(self._cache) > self.maxsize:
            self._cache.popitem(last=False)
        return prepared

    def _prepare(self, query: str, operation_name: str | None) -> PreparedOperation:
        try:
            document = parse(query, max_tokens=self.max_tokens)
        except GraphQLError as error:
            return PreparedOperation(errors=[error])
        operation = get_operation_ast(document, operation_name)
        if operation is None:  # a request error, as graphql-core's executor words it
            count = sum(isinstance(d, OperationDefinitionNode) for d in document.definitions)
            message = (
                f"Unknown operation named '{operation_name}'."
                if operation_name
                else "Must provide operation name if query contains multiple operations."
                if count > 1
                else "Must provide an operation."
            )
            return PreparedOperation(errors=[GraphQLError(message)])
        violation = self.limits.violation(document)
        if violation is not None:
            return PreparedOperation(
                errors=[GraphQLError(violation, extensions={"code": TOO_COMPLEX})]
            )
        errors = validate(self.schema, document, self.rules, hide_suggestions=not self.suggestions)
        if errors:
            return PreparedOperation(errors=errors)
        fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
        }
        prepared = PreparedOperation(
            document=document,
            operation=operation,
            fragments=fragments,
            root_fields=",".join(
                sorted(
                    {
                        s.name.value
                        for s in operation.selection_set.selections
                        if isinstance(s, FieldNode)
                    }
                )
            ),
            directive_variables=tuple(sorted(_directive_variables(document))),
        )
        prepared.plannable = operation.operation is OperationType.QUERY and _plannable(
            document, self.schema
        )
        return prepared

    def plan(
        self, prepared: PreparedOperation, variables: VariableValues
    ) -> tuple[Selection, ...] | None:
        """The operation's selections for these @skip/@include values (cached per values);
        None when a flag is not a boolean (null), which the reference execution reports its
        own way."""
        values = tuple(variables.coerced.get(name) for name in prepared.directive_variables)
        if any(not isinstance(value, bool) for value in values):
            return None
        plan = prepared.plans.get(values)
        if plan is None:
            assert prepared.operation is not None
            query_type = self.schema.query_type
            assert query_type is not None
            plan = _collect(
                self.schema,
                query_type,
                [prepared.operation.selection_set],
                prepared.fragments,
                variables.coerced,
            )
            if len(prepared.plans) < 16:  # bounded: values come from clients
                prepared.plans[values] = plan
        return plan


def coerce_variables(
    schema: GraphQLSchema, prepared: PreparedOperation, inputs: dict[str, Any] | None
) -> VariableValues | list[GraphQLError]:
    assert prepared.operation is not None
    return get_variable_values(
        schema, prepared.operation.variable_definitions or (), inputs or {}, max_errors=50
    )


# ---------------------------------------------------------------- collecting fields


def _directive_variables(document: DocumentNode) -> set[str]:
    names: set[str] = set()

    def walk(selection_set: SelectionSetNode | None) -> None:
        if selection_set is None:
            return
        for selection in selection_set.selections:
            for directive in selection.directives or ():
                for argument in directive.arguments or ():
                    if isinstance(argument.value, VariableNode):
                        names.add(argument.value.name.value)
            walk(getattr(selection, "selection_set", None))

    for definition in document.definitions:
        walk(getattr(definition, "selection_set", None))
    return names


def _plannable(document: DocumentNode, schema: GraphQLSchema) -> bool:
    """No introspection beyond ``__typename``, no directive but @skip/@include."""

    def ok(selection_set: SelectionSetNode | None) -> bool:
        if selection_set is None:
            return True
        for selection in selection_set.selections:
            if any(d.name.value not in ("skip", "include") for d in selection.directives or ()):
                return False
            if isinstance(selection, FieldNode):
                name = selection.name.value
                if name.startswith("__") and name != "__typename":
                    return False
            if not ok(getattr(selection, "selection_set", None)):
                return False
        return True

    return all(ok(getattr(d, "selection_set", None)) for d in document.definitions)


def _included(
    node: FieldNode | InlineFragmentNode | FragmentSpreadNode, values: dict[str, Any]
) -> bool:
    for directive in node.directives or ():
        name = directive.name.value
        if name not in ("skip", "include"):
            continue
        argument = next((a for a in directive.arguments or () if a.name.value == "if"), None)
        if argument is None:
            continue
        value = argument.value
        flag = (
            bool(values.get(value.name.value))
            if isinstance(value, VariableNode)
            else isinstance(value, BooleanValueNode) and value.value
        )
        if flag is (name == "skip"):
            return False
    return True


def _collect(
    schema: GraphQLSchema,
    parent: GraphQLObjectType,
    selection_sets: Sequence[SelectionSetNode],
    fragments: dict[str, FragmentDefinitionNode],
    values: dict[str, Any],
) -> tuple[Selection, ...]:
    """graphql-core's CollectFields (spec 6.3.2) for a schema without abstract types."""
    grouped: dict[str, list[FieldNode]] = {}

    def visit(selection_set: SelectionSetNode, seen: frozenset[str]) -> None:
        for selection in selection_set.selections:
            if not _included(selection, values):  # type: ignore[arg-type]
                continue
            if isinstance(selection, FieldNode):
                key = selection.alias.value if selection.alias else selection.name.value
                grouped.setdefault(key, []).append(selection)
            elif isinstance(selection, InlineFragmentNode):
                visit(selection.selection_set, seen)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name in seen or name not in fragments:
                    continue
                visit(fragments[name].selection_set, seen | {name})

    for selection_set in selection_sets:
        visit(selection_set, frozenset())
    selections = []
    for key, nodes in grouped.items():
        name = nodes[0].name.value
        children: tuple[Selection, ...] = ()
        if name != "__typename":
            named = get_named_type(parent.fields[name].type)
            if isinstance(named, GraphQLObjectType):
                subsets = [n.selection_set for n in nodes if n.selection_set is not None]
                children = _collect(schema, named, subsets, fragments, values)
        selections.append(Selection(key, name, tuple(nodes), children))
    return tuple(selections)


# ---------------------------------------------------------------- running a plan


@dataclass(slots=True)
class Outcome:
    """What running a plan produced, before it becomes JSON."""

    data: dict[str, Any]
    errors: list[GraphQLError] = field(default_factory=list)
    warnings: list[tuple[list[str | int], ApiError]] = field(default_factory=list)


class Runner:
    """Runs plans against the upstreams, shaping values as the schema's types say."""

    def __init__(self, schema: GraphQLSchema) -> None:
        self.schema = schema
        self.types: dict[str, GraphQLObjectType] = {
            name: t for name, t in schema.type_map.items() if isinstance(t, GraphQLObjectType)
        }
        query_type = schema.query_type
        assert query_type is not None
        self.query = query_type

    async def run(
        self, plan: tuple[Selection, ...], variables: VariableValues, upstreams: Upstreams
    ) -> Outcome:
        outcome = Outcome(data={})
        pending: list[Awaitable[None]] = []
        for selection in plan:
            if selection.name == "__typename":
                outcome.data[selection.key] = self.query.name
                continue
            outcome.data[selection.key] = None  # keeps the key order of the selection
            resolve = getattr(self, f"_root_{selection.name}")
            pending.append(resolve(selection, variables, upstreams, outcome))
        if len(pending) == 1:
            await pending[0]
        elif pending:
            await asyncio.gather(*pending)
        return outcome

    # Each root resolver mirrors its Strawberry twin in gateway.graphql.schema: the same
    # argument checks in the same order, the same service call, the same error paths.

    async def _root_fullinfo(
        self, sel: Selection, variables: VariableValues, upstreams: Upstreams, out: Outcome
    ) -> None:
        args = self._arguments("fullinfo", sel, variables, out)
        if args is None:
            return
        path: list[str | int] = [sel.key]
        try:
            city = checked_city(args["city"])
            country = checked_country(args.get("country"))
        except ApiError as exc:
            self._fail(out, exc, sel, path)
            return
        lang: Lang = args["lang"]
        value: dict[str, Any] = {}
        out.data[sel.key] = value
        calls: list[Awaitable[None]] = []
        for child in sel.children:
            if child.name == "__typename":
                value[child.key] = "FullInfo"
            elif child.name == "city":
                value[child.key] = city
            else:
                value[child.key] = None
                child_path = [*path, child.key]
                if child.name == "weather":
                    calls.append(
                        self._weather(
                            upstreams.weather_report(city, lang, country),
                            child,
                            child_path,
                            value,
                            out,
                        )
                    )
                else:
                    call = upstreams.random_joke(lang)
                    calls.append(self._fill(call, child, child_path, value, out, _joke_text))
        if len(calls) == 1:
            await calls[0]
        elif calls:
            await asyncio.gather(*calls)

    async def _root_weather(
        self, sel: Selection, variables: VariableValues, upstreams: Upstreams, out: Outcome
    ) -> None:
        args = self._arguments("weather", sel, variables, out)
        if args is None:
            return
        path: list[str | int] = [sel.key]
        try:
            call = upstreams.weather_report(
                checked_city(args["city"]), args["lang"], checked_country(args.get("country"))
            )
        except ApiError as exc:
            self._fail(out, exc, sel, path)
            return
        await self._weather(call, sel, path, out.data, out)

    async def _root_joke(
        self, sel: Selection, variables: VariableValues, upstreams: Upstreams, out: Outcome
    ) -> None:
        args = self._arguments("joke", sel, variables, out)
        if args is None:
            return
        path: list[str | int] = [sel.key]
        await self._fill(
            upstreams.random_joke(args["lang"]),
            sel,
            path,
            out.data,
            out,
            lambda joke: self._shape(
                "Joke", sel.children, {"id": joke.id, "text": joke.joke, "lang": joke.lang}
            ),
        )

    async def _weather(
        self,
        call: Awaitable[Answer[WeatherReport]],
        sel: Selection,
        path: list[str | int],
        target: dict[str, Any],
        out: Outcome,
    ) -> None:
        await self._fill(
            call, sel, path, target, out, partial(self._shape, "Weather", sel.children)
        )

    async def _fill(
        self,
        call: Awaitable[Answer[Any]],
        sel: Selection,
        path: list[str | int],
        target: dict[str, Any],
        out: Outcome,
        shape: Callable[[Any], Any],
    ) -> None:
        """``target[sel.key]`` = the shaped answer, or an error at ``path``."""
        answer = await self._answer(call, sel, path, out)
        if answer is not None:
            target[sel.key] = shape(answer.value)

    async def _answer(
        self, call: Awaitable[Answer[Any]], sel: Selection, path: list[str | int], out: Outcome
    ) -> Answer[Any] | None:
        try:
            answer = await call
        except Exception as exc:
            self._fail(out, exc, sel, path)
            return None
        stale = answer.stale_error
        if stale is not None:
            out.warnings.append((path, stale))
        return answer

    def _shape(
        self, type_name: str, children: tuple[Selection, ...], source: Any
    ) -> dict[str, Any]:
        """The selected fields of one object: plain attributes, serialised per scalar."""
        fields = self.types[type_name].fields
        shaped: dict[str, Any] = {}
        getter: Callable[[str], Any] = (
            source.__getitem__ if isinstance(source, dict) else source.__getattribute__
        )
        for child in children:
            if child.name == "__typename":
                shaped[child.key] = type_name
                continue
            gql_field = fields[child.name]
            named: GraphQLNamedType = get_named_type(gql_field.type)
            raw = getter(_python_name(child.name))
            shaped[child.key] = None if raw is None else named.serialize(raw)  # type: ignore[attr-defined]
        return shaped

    def _arguments(
        self, name: str, sel: Selection, variables: VariableValues, out: Outcome
    ) -> dict[str, Any] | None:
        """The root field's arguments; None (and an error at the field, as the reference
        execution reports it) when a variable's null reaches a non-null argument."""
        try:
            return get_argument_values(self.query.fields[name], sel.nodes[0], variables)
        except GraphQLError as exc:
            self._fail(out, exc, sel, [sel.key])
            return None

    @staticmethod
    def _fail(out: Outcome, exc: Exception, sel: Selection, path: list[str | int]) -> None:
        error = located_error(exc, list(sel.nodes), path)
        if not isinstance(exc, ApiError):
            # Masked like the reference execution masks it; a client's null in a non-null
            # argument is no crash, anything else is one.
            if isinstance(exc, GraphQLError):
                logger.info("graphql.error code=INTERNAL_ERROR path=%s message=%s", path, exc)
            else:
                logger.error("graphql.resolver.crashed path=%s", path, exc_info=exc)
            error = GraphQLError(
                UNEXPECTED,
                nodes=error.nodes,
                source=error.source,
                positions=error.positions,
                path=error.path,
                extensions={"code": "INTERNAL_ERROR"},
            )
        out.errors.append(error)


def _joke_text(joke: JokePayload) -> str:
    return joke.joke


_PYTHON_NAMES: dict[str, str] = {}


def _python_name(graphql_name: str) -> str:
    """conditionCode → condition_code (Strawberry's auto camel case, reversed)."""
    name = _PYTHON_NAMES.get(graphql_name)
    if name is None:
        name = "".join(f"_{c.lower()}" if c.isupper() else c for c in graphql_name)
        _PYTHON_NAMES[graphql_name] = name
    return name
