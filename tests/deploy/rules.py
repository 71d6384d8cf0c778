"""A small evaluator of Traefik v3 router rules, enough to say which router takes a request.

Grammar (Traefik v3, https://doc.traefik.io/traefik/routing/routers/#rule)::

    expr    := and ( "||" and )*
    and     := unary ( "&&" unary )*
    unary   := "!" unary | "(" expr ")" | matcher
    matcher := Name "(" string ")"        # v3 matchers take exactly one argument...
             | Header "(" string "," string ")"   # ...but the header matchers, which take two
    string  := `...` | "..."

Supported matchers: ``Path`` (exact path), ``PathPrefix`` (string prefix of the path),
``Host`` (case-insensitive, port ignored), ``Method``, ``Header`` (a value equal to the given
one, header name case-insensitive) and ``HeaderRegexp`` (a value the expression matches
anywhere, as Go's ``MatchString``; Python's ``re`` reads the simple expressions we use
alike). Anything else raises :class:`RuleError`, so a rule this evaluator cannot judge
fails the tests instead of being guessed at. The query string never takes part in matching
(Traefik matches the path).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit


class RuleError(ValueError):
    """The rule is not valid v3 syntax, or uses a matcher this evaluator does not know."""


@dataclass(frozen=True)
class Request:
    """What the matchers look at."""

    path: str
    host: str = "localhost"
    method: str = "GET"
    headers: tuple[tuple[str, str], ...] = ()

    @classmethod
    def get(
        cls, target: str, host: str = "localhost", headers: dict[str, str] | None = None
    ) -> Request:
        """A GET of ``target`` (a path, query string allowed)."""
        return cls(path=urlsplit(target).path, host=host, headers=tuple((headers or {}).items()))

    def header_values(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key.lower() == name.lower()]


Predicate = Callable[[Request], bool]

_MATCHERS: dict[str, Callable[[str], Predicate]] = {
    "Path": lambda value: lambda request: request.path == value,
    "PathPrefix": lambda value: lambda request: request.path.startswith(value),
    "Host": lambda value: lambda request: request.host.split(":")[0].lower() == value.lower(),
    "Method": lambda value: lambda request: request.method == value.upper(),
}

_PAIR_MATCHERS: dict[str, Callable[[str, str], Predicate]] = {
    "Header": lambda name, value: lambda request: value in request.header_values(name),
    "HeaderRegexp": lambda name, pattern: (
        lambda request: any(re.search(pattern, value) for value in request.header_values(name))
    ),
}

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<op>\|\||&&|!|\(|\)|,)
      | (?P<name>[A-Za-z][A-Za-z0-9]*)
      | `(?P<raw>[^`]*)`
      | "(?P<quoted>(?:[^"\\]|\\.)*)"
    )""",
    re.VERBOSE,
)


def _tokens(rule: str) -> Iterator[tuple[str, str]]:
    position = 0
    rule = rule.rstrip()
    while position < len(rule):
        match = _TOKEN.match(rule, position)
        if match is None:
            raise RuleError(f"cannot read {rule[position:]!r} in rule {rule!r}")
        position = match.end()
        kind = match.lastgroup
        assert kind is not None
        value = match.group(kind)
        yield ("string" if kind in {"raw", "quoted"} else kind), value


class _Parser:
    def __init__(self, rule: str) -> None:
        self.rule = rule
        self.tokens = list(_tokens(rule))
        self.index = 0

    def parse(self) -> Predicate:
        if not self.tokens:
            raise RuleError("empty rule")
        predicate = self._or()
        if self.index != len(self.tokens):
            raise RuleError(f"unexpected {self.tokens[self.index][1]!r} in rule {self.rule!r}")
        return predicate

    def _peek(self) -> tuple[str, str] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _take(self, kind: str, value: str | None = None) -> str:
        token = self._peek()
        if token is None or token[0] != kind or (value is not None and token[1] != value):
            wanted = value or kind
            raise RuleError(f"expected {wanted!r} at token {self.index} of rule {self.rule!r}")
        self.index += 1
        return token[1]

    def _or(self) -> Predicate:
        terms = [self._and()]
        while self._peek() == ("op", "||"):
            self.index += 1
            terms.append(self._and())
        return terms[0] if len(terms) == 1 else lambda r: any(term(r) for term in terms)

    def _and(self) -> Predicate:
        factors = [self._unary()]
        while self._peek() == ("op", "&&"):
            self.index += 1
            factors.append(self._unary())
        return factors[0] if len(factors) == 1 else lambda r: all(f(r) for f in factors)

    def _unary(self) -> Predicate:
        token = self._peek()
        if token == ("op", "!"):
            self.index += 1
            inner = self._unary()
            return lambda r: not inner(r)
        if token == ("op", "("):
            self.index += 1
            inner = self._or()
            self._take("op", ")")
            return inner
        return self._matcher()

    def _matcher(self) -> Predicate:
        name = self._take("name")
        if name in _PAIR_MATCHERS:
            self._take("op", "(")
            key = self._take("string")
            self._take("op", ",")
            value = self._take("string")
            self._take("op", ")")
            return _PAIR_MATCHERS[name](key, value)
        if name not in _MATCHERS:
            raise RuleError(f"matcher {name!r} is not supported by this evaluator")
        self._take("op", "(")
        value = self._take("string")
        if self._peek() == ("op", ","):
            raise RuleError(f"{name} takes one argument in Traefik v3 (rule {self.rule!r})")
        self._take("op", ")")
        return _MATCHERS[name](value)


def compile_rule(rule: str) -> Predicate:
    """Parse ``rule`` once; the result tells whether a :class:`Request` matches it."""
    return _Parser(rule).parse()


def matches(rule: str, request: Request) -> bool:
    """Whether ``request`` matches the Traefik v3 ``rule``."""
    return compile_rule(rule)(request)
