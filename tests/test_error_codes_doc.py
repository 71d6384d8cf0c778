"""Every error code the gateway can emit has a row in docs/errors.md, and every row is real.

The codes are collected from the code, not from a list kept by hand: the ``code`` of each
``ApiError`` subclass defined in ``canaduck`` and ``gateway``, plus the SCREAMING_SNAKE string
literals that those two packages hand out as a code some other way: assigned to ``code``, passed
as ``code=``, the value of a ``"code"`` key, an argument of a call that builds an error
(``problem_response(...)``, ``RequestError(...)``: a callee named ``*problem*``, ``*error*`` or
``*exception*``, logging excluded), or returned by a function named ``*code*`` (a module
constant naming one counts too).
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from canaduck.problems import ApiError

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "errors.md"
CODE = re.compile(r"[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*")
ROW = re.compile(r"^\| `([A-Z][A-Z0-9_]*)` \|", re.MULTILINE)


def _import_all(package: str) -> None:
    root = importlib.import_module(package)
    for module in pkgutil.walk_packages(root.__path__, f"{package}."):
        if not module.name.endswith("__main__"):  # would start a server
            importlib.import_module(module.name)


def _subclasses(cls: type[ApiError]) -> Iterator[type[ApiError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def class_codes(*packages: str) -> set[str]:
    """The ``code`` of ApiError and of each subclass defined in ``packages``."""
    for package in packages:
        _import_all(package)
    return {ApiError.code} | {
        cls.code for cls in _subclasses(ApiError) if cls.__module__.split(".")[0] in packages
    }


def _is_code(value: object) -> bool:
    return isinstance(value, str) and len(value) >= 4 and CODE.fullmatch(value) is not None


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


# Logging calls share a name with error constructors but only take messages.
_LOG_METHODS = {"critical", "error", "exception", "warning", "info", "debug", "log"}


def _makes_an_error(callee: str) -> bool:
    """A call that builds an error answer: ``problem_body(...)``, ``RequestError(...)``."""
    name = callee.lower()
    return name not in _LOG_METHODS and any(w in name for w in ("problem", "error", "exception"))


def _code_expressions(tree: ast.AST) -> Iterator[ast.AST]:
    """The expressions of ``tree`` whose value is, or chooses, an error code."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if any(_name(t) == "code" or _name(t).endswith("_code") for t in targets):
                yield node.value
        elif isinstance(node, ast.keyword) and node.arg == "code":
            yield node.value
        elif isinstance(node, ast.Dict):
            yield from (
                value
                for key, value in zip(node.keys, node.values, strict=True)
                if isinstance(key, ast.Constant) and key.value == "code"
            )
        elif isinstance(node, ast.Call) and _makes_an_error(_name(node.func)):
            yield from node.args
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "code" in node.name:
            yield from (
                sub.value
                for sub in ast.walk(node)
                if isinstance(sub, ast.Return) and sub.value is not None
            )


def literal_codes(package_dir: Path) -> set[str]:
    """SCREAMING_SNAKE literals (or constants naming one) used as a code in ``package_dir``."""
    trees = [ast.parse(path.read_text(), str(path)) for path in package_dir.rglob("*.py")]
    constants = {
        target.id: node.value.value
        for tree in trees
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign)
        and isinstance(node.value, ast.Constant)
        and _is_code(node.value.value)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    found = set()
    for tree in trees:
        for expression in _code_expressions(tree):
            for node in ast.walk(expression):
                if isinstance(node, ast.Constant) and _is_code(node.value):
                    found.add(str(node.value))
                elif isinstance(node, ast.Name) and node.id in constants:
                    found.add(str(constants[node.id]))
    return found


EMITTED = sorted(
    class_codes("canaduck", "gateway")
    | literal_codes(ROOT / "canaduck")
    | literal_codes(ROOT / "gateway")
)
# The services' own codes: the gateway relays their 4xx answers on /weather and /joke.
KNOWN = set(EMITTED) | class_codes("weather_service", "joke_service")


def documented() -> set[str]:
    return set(ROW.findall(DOC.read_text()))


def test_codes_are_found() -> None:
    """The collection itself works, in each of its forms (guards the tests below)."""
    assert {
        "INTERNAL_ERROR",  # ApiError
        "UPSTREAM_TIMEOUT",  # a subclass in gateway.errors
        "QUERY_TOO_COMPLEX",  # a module constant in {"code": ...}
        "GRAPHQL_PARSE_FAILED",  # returned by default_code()
        "UPSTREAMS_FAILED",  # an argument of problem_response()
        "NOT_FOUND",  # a value chosen into `code = ...`
    } <= set(EMITTED)


@pytest.mark.parametrize("code", EMITTED)
def test_every_emitted_code_has_a_row(code: str) -> None:
    """docs/errors.md has a table row for each code the gateway can emit."""
    assert code in documented(), (
        f"{code} can leave the gateway but has no row in docs/errors.md: add "
        f"| `{code}` | HTTP status | GraphQL | REST | retryable | where raised |"
    )


def test_every_row_is_a_real_code() -> None:
    """docs/errors.md documents no code that nothing emits (a rename or a typo)."""
    stale = documented() - KNOWN
    assert not stale, f"docs/errors.md has rows for codes nothing emits: {sorted(stale)}"
