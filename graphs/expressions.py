"""Safe expressions for `condition` and `when`: checked against a whitelist, run by simpleeval.

Bindings are swapped for plain names before parsing, so the Python parser sees only
literals, names, operators and lists. Every AST node is checked against a short
whitelist (no attribute access, calls, subscripts, lambdas or comprehensions), and the
tree is then evaluated by simpleeval, which also caps string and number sizes so that an
expression cannot exhaust memory.
"""

from __future__ import annotations

import ast
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import simpleeval

from graphs.bindings import REF_RE, Ref, lookup, parse_ref

MAX_EXPRESSION_LENGTH = 2000
_STRING_RE = re.compile(r"'(?:[^'\\\n]|\\.)*'" + r'|"(?:[^"\\\n]|\\.)*"')  # quoted literals
_STRING_OR_REF_RE = re.compile(rf"(?P<string>{_STRING_RE.pattern})|{REF_RE.pattern}")
_LITERAL_NAMES = {
    "true": True,
    "false": False,
    "null": None,
    "True": True,
    "False": False,
    "None": None,
}

_OPERATORS: dict[type[ast.AST], Callable[..., Any]] = {
    ast.Add: simpleeval.safe_add,
    ast.Sub: operator.sub,
    ast.Mult: simpleeval.safe_mult,
    ast.Div: operator.truediv,
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
    ast.Not: operator.not_,
    ast.USub: operator.neg,
    ast.UAdd: operator.pos,
}
_ALLOWED_NODES: tuple[type[ast.AST], ...] = (
    ast.Expression,
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.BinOp,
    ast.UnaryOp,
    ast.Compare,
    ast.Name,
    ast.Load,
    ast.Constant,
    ast.List,
    *_OPERATORS,
)


class ExpressionError(ValueError):
    """An expression that is not allowed, or that failed while being evaluated."""


@dataclass(frozen=True)
class Expression:
    """A checked expression: its bindings and its parsed tree, ready to evaluate many times."""

    source: str
    refs: tuple[Ref, ...]
    tree: ast.expr
    text: str = ""  # as written in the definition, for messages

    def evaluate(self, scope: Callable[[str], Any]) -> Any:
        names: dict[str, Any] = dict(_LITERAL_NAMES)
        for i, ref in enumerate(self.refs):
            names[f"ref_{i}"] = lookup(ref, scope)
        evaluator = simpleeval.EvalWithCompoundTypes(
            operators=_OPERATORS, functions={}, names=names
        )
        try:
            return evaluator.eval(self.source, previously_parsed=self.tree)
        except simpleeval.InvalidExpression as exc:
            raise ExpressionError(f"cannot evaluate {self.text!r}: {exc}") from exc
        except (ArithmeticError, TypeError, ValueError) as exc:
            raise ExpressionError(f"cannot evaluate {self.text!r}: {exc}") from exc


def compile_expression(source: Any) -> Expression:
    """Parse and check an expression; raises ExpressionError saying what is not allowed."""
    if isinstance(source, bool | int | float) or source is None:
        source = "true" if source is True else "false" if source is False else str(source)
        source = "null" if source == "None" else source
    if not isinstance(source, str) or not source.strip():
        raise ExpressionError("an expression must be a non-empty string")
    if len(source) > MAX_EXPRESSION_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_EXPRESSION_LENGTH} characters")
    refs: list[Ref] = []

    def swap(match: Any) -> str:
        if match.group("string") is not None:  # a quoted string: '$' in it is just text
            return str(match.group(0))
        ref = REF_RE.match(match.group(0))
        assert ref is not None  # the same pattern matched this text a moment ago
        refs.append(parse_ref(ref))
        return f" ref_{len(refs) - 1} "

    plain = _STRING_OR_REF_RE.sub(swap, source)
    if "$" in _STRING_RE.sub("''", plain):
        raise ExpressionError(f"{source!r}: '$' must start a binding such as $node.field")
    try:
        tree = ast.parse(plain.strip(), mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise ExpressionError(f"{source!r} is not a valid expression") from exc
    _check_tree(tree, source, len(refs))
    return Expression(plain.strip(), tuple(refs), tree.body, source.strip())


def _check_tree(tree: ast.AST, source: str, ref_count: int) -> None:
    allowed_names = set(_LITERAL_NAMES) | {f"ref_{i}" for i in range(ref_count)}
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED_NODES):
            raise ExpressionError(f"{source!r}: {_describe(node)} is not allowed in expressions")
        if isinstance(node, ast.Name) and node.id not in allowed_names:
            raise ExpressionError(
                f"{source!r}: unknown name {node.id!r} (use $input.x, $context.x or $node.field,"
                " and quote strings)"
            )
        if isinstance(node, ast.Constant) and not isinstance(
            node.value, str | int | float | bool | type(None)
        ):
            raise ExpressionError(f"{source!r}: literal {node.value!r} is not allowed")


def _describe(node: ast.AST) -> str:
    names = {
        ast.Attribute: "attribute access",
        ast.Call: "a function call",
        ast.Subscript: "subscripting (use $node.list[0])",
        ast.Lambda: "a lambda",
        ast.ListComp: "a comprehension",
        ast.GeneratorExp: "a generator",
        ast.NamedExpr: "assignment",
    }
    return names.get(type(node), f"'{type(node).__name__}'")
