"""The expression sandbox: the documented operators work, everything else is refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphs_testkit import tool_node

from graphs.expressions import ExpressionError, compile_expression
from graphs.registry import Registry
from graphs.validate import validate_definition

STATE: dict[str, Any] = {
    "input": {"n": 5, "name": "ada", "flag": True, "tags": ["x", "y"], "none": None},
    "context": {"limit": 3},
    "search": {"hotels": [{"name": "Harbour", "price": 180}], "count": 1},
}


def evaluate(source: Any) -> Any:
    return compile_expression(source).evaluate(STATE.get)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("$input.n == 5", True),
        ("$input.n != 5", False),
        ("$input.n < 6", True),
        ("$input.n <= 4", False),
        ("$input.n > $context.limit", True),
        ("$input.n >= 5", True),
        ("$input.flag and $input.n > 1", True),
        ("$input.flag and not $input.flag", False),
        ("false or $input.name == 'ada'", True),
        ("not $input.flag", False),
        ("'x' in $input.tags", True),
        ("'z' not in $input.tags", True),
        ("$input.name in ['ada', 'bob']", True),
        ("$input.n + 1", 6),
        ("$input.n - 7", -2),
        ("$input.n * 2", 10),
        ("$input.n / 2", 2.5),
        ("-$input.n", -5),
        ("'a' + $input.name", "aada"),
        ("[1, 2] + [3]", [1, 2, 3]),
        ("$input.none == null", True),
        ("$input.missing == null", True),
        ("true", True),
        ("null", None),
        ("$search.hotels[0].price < 200", True),
        ("$search.count > 0 and $search.hotels[0].name == 'Harbour'", True),
        (True, True),
        (3, 3),
    ],
)
def test_allowed_expressions(source: Any, expected: Any) -> None:
    assert evaluate(source) == expected


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("__import__('os')", "call"),
        ("open('/etc/passwd').read()", "call"),
        ("$input.name.upper()", "call"),
        ("(1).real", "attribute"),
        ("''.__class__", "attribute"),
        ("lambda: 1", "lambda"),
        ("[x for x in $input.tags]", "comprehension"),
        ("(x for x in [1])", "generator"),
        ("2 ** 8", "Pow"),
        ("'abc'[0]", "subscripting"),
        ("(y := 1)", "assignment"),
        ("{'a': 1}", "Dict"),
        ("1 if true else 2", "IfExp"),
        ("7 // 2", "FloorDiv"),
        ("7 % 2", "Mod"),
        ("1 is 1", "Is"),
        ("os", "unknown name"),
        ("$", "must start a binding"),
    ],
)
def test_rejected_at_compile_time(source: str, what: str) -> None:
    with pytest.raises(ExpressionError, match=what):
        compile_expression(source)


@pytest.mark.parametrize("source", ["", "   ", ["a"], {"a": 1}, "1 +", "x" * 2001])
def test_not_an_expression(source: Any) -> None:
    with pytest.raises(ExpressionError):
        compile_expression(source)


def test_binding_paths_never_reach_python_attributes() -> None:
    # `.__class__` in a binding is a key lookup in JSON data, not attribute access.
    assert evaluate("$input.name.__class__") is None
    assert evaluate("$input.tags.__len__ == null") is True


@pytest.mark.parametrize("text", ["costs $usd", "US$", "$input.n", "it's $5"])
def test_a_dollar_inside_a_quoted_string_is_just_text(text: str) -> None:
    literal = '"' + text + '"' if "'" in text else "'" + text + "'"
    expression = compile_expression(f"$input.label == {literal}")
    assert [r.text for r in expression.refs] == ["$input.label"]
    assert expression.evaluate({"input": {"label": text}}.get) is True
    assert expression.evaluate({"input": {"label": "other"}}.get) is False


def test_a_dollar_in_a_string_is_not_a_reference_at_validation(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [tool_node("a", "echo", when="'$ghost.x' != 'US$'")]}
    assert validate_definition(definition, registry).issues == []


def test_huge_string_multiplication_is_refused_at_evaluation() -> None:
    expression = compile_expression("'a' * 100000000")
    with pytest.raises(ExpressionError):
        expression.evaluate(STATE.get)
    with pytest.raises(ExpressionError):
        evaluate("$input.tags * 100000000")


@pytest.mark.parametrize("source", ["$input.n / 0", "$input.n + 'x'", "$input.none > 1"])
def test_evaluation_errors_are_expression_errors(source: str) -> None:
    with pytest.raises(ExpressionError):
        evaluate(source)


def test_an_expression_is_reusable_and_sees_each_scope() -> None:
    expression = compile_expression("$input.n > 3")
    assert [r.text for r in expression.refs] == ["$input.n"]
    assert expression.evaluate({"input": {"n": 4}}.get) is True
    assert expression.evaluate({"input": {"n": 1}}.get) is False


@pytest.mark.parametrize(
    "template",
    [
        "open({path!r}, 'w').write('x')",
        "__import__('os').system('touch {path}')",
        "__import__('pathlib').Path({path!r}).touch()",
    ],
)
def test_a_definition_cannot_run_code(tmp_path: Path, registry: Registry, template: str) -> None:
    target = tmp_path / "pwned"
    expression = template.format(path=str(target))
    definition = {
        "id": "evil",
        "nodes": [{"id": "c", "type": "condition", "expression": expression},
                  tool_node("b", "echo", when=expression)],
        "edges": [{"from": "c", "to": "b", "default": True}],
    }
    found = [(i.path, i.code) for i in validate_definition(definition, registry).issues]
    assert found == [("nodes[0].expression", "invalid_expression"),
                     ("nodes[1].when", "invalid_expression")]
    assert not target.exists()
    with pytest.raises(ExpressionError):
        compile_expression(expression)
    assert not target.exists()
