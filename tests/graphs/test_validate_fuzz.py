"""validate_definition never raises, whatever JSON-like value it is given."""

from __future__ import annotations

from typing import Any

from graphs_testkit import ISSUE_CODES, make_registry
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from graphs.spec import NODE_TYPES
from graphs.validate import validate_definition

REGISTRY = make_registry()

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True),
    st.text(max_size=12),
    st.sampled_from(["a", "b", "c", "$a.x", "$input.q", "$context.k", "{{ $a }}", "{{ x }}",
                     "echo", "fake:echo", "echo_agent", "1 + 1", "$a == 1", "runs"]),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner,
                                                                   max_size=4),
    max_leaves=12,
)
node_ids = st.sampled_from(["a", "b", "c", "d"]) | json_values


def _mapping(fields: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries({}, optional=fields)


nodes = _mapping({
    "id": node_ids,
    "type": st.sampled_from(NODE_TYPES) | json_values,
    "tool": st.sampled_from(["echo", "delay", "nope"]) | json_values,
    "agent": st.sampled_from(["echo_agent", "nope"]) | json_values,
    "model": st.sampled_from(["fake:echo", "openai:gpt-4o", "x"]) | json_values,
    "prompt": json_values,
    "expression": json_values,
    "when": json_values,
    "inputs": json_values,
    "retry": _mapping({"max_attempts": json_values, "backoff_factor": json_values}) | json_values,
    "max_retries": json_values,
    "timeout_seconds": json_values,
    "on_failure": json_values,
})
edge_list = st.lists(
    _mapping({"from": node_ids, "to": node_ids, "when": json_values, "default": json_values})
    | json_values,
    max_size=6,
)
definitions = _mapping({
    "id": st.sampled_from(["w", "runs"]) | json_values,
    "nodes": st.lists(nodes | json_values, max_size=6) | json_values,
    "edges": edge_list | json_values,
    "steps": st.lists(nodes, max_size=4) | json_values,
    "context": json_values,
    "input_schema": json_values,
    "settings": json_values,
    "output": json_values,
})


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.too_slow])
@given(definitions | json_values)
def test_validate_never_raises(raw: Any) -> None:
    result = validate_definition(raw, REGISTRY)
    assert result.valid == (result.spec is not None)
    assert all(issue.code in ISSUE_CODES for issue in result.issues)
