"""validate_definition: every issue code of API.md section 2, at the exact path, all at once."""

from __future__ import annotations

from typing import Any

import pytest
from graphs_testkit import ISSUE_CODES, edges, tool_node

from graphs.registry import Registry
from graphs.validate import validate_definition


def par(node_id: str) -> dict[str, Any]:
    return {"id": node_id, "type": "parallel"}


def echo(node_id: str, **extra: Any) -> dict[str, Any]:
    return tool_node(node_id, "echo", **extra)


def issues_of(definition: Any, registry: Registry | None) -> list[tuple[str, str]]:
    return [(i.path, i.code) for i in validate_definition(definition, registry).issues]


def messages_at(definition: Any, registry: Registry, path: str) -> list[str]:
    return [i.message for i in validate_definition(definition, registry).issues if i.path == path]


def test_a_valid_definition_has_no_issues_and_gives_a_spec(registry: Registry) -> None:
    definition = {"id": "ok", "nodes": [echo("a"), echo("b")], "edges": edges("a>b")}
    result = validate_definition(definition, registry)
    assert result.valid and result.issues == []
    assert result.spec is not None and [n.id for n in result.spec.nodes] == ["a", "b"]
    assert result.as_dict() == {"valid": True, "issues": [], "levels": [["a"], ["b"]]}


def test_levels_of_a_diamond(registry: Registry) -> None:
    definition = {
        "id": "diamond",
        "nodes": [par("a"), echo("b"), echo("c"), {"id": "d", "type": "join"}],
        "edges": edges("a>b", "a>c", "b>d", "c>d"),
    }
    result = validate_definition(definition, registry)
    assert result.valid
    assert result.levels == [["a"], ["b", "c"], ["d"]]


def test_levels_use_the_longest_path(registry: Registry) -> None:
    definition = {
        "id": "w",
        "nodes": [echo("a"), echo("b"), echo("c")],
        "edges": edges("a>b", "b>c", "a>c"),
    }
    assert validate_definition(definition, registry).levels == [["a"], ["b"], ["c"]]


def test_steps_become_a_chain(registry: Registry) -> None:
    result = validate_definition({"id": "w", "steps": [echo("a"), echo("b"), echo("c")]}, registry)
    assert result.valid and result.levels == [["a"], ["b"], ["c"]]
    assert result.spec is not None
    assert [(e.source, e.target) for e in result.spec.edges] == [("a", "b"), ("b", "c")]


# --- cycle and unreachable_node ----------------------------------------------------------------


def test_cycle_points_at_an_edge_of_the_cycle_and_names_its_nodes(registry: Registry) -> None:
    definition = {
        "id": "w",
        "nodes": [par("a"), par("b"), par("c")],
        "edges": edges("a>b", "b>c", "c>b"),
    }
    result = validate_definition(definition, registry)
    cycles = [i for i in result.issues if i.code == "cycle"]
    assert len(cycles) == 1
    assert cycles[0].path == "edges[1]"
    assert "b -> c -> b" in cycles[0].message
    assert "a" not in cycles[0].message.replace("cycle", "")
    assert result.levels == []  # no levels for a graph that cannot be ordered


def test_self_loop_is_a_cycle(registry: Registry) -> None:
    found = issues_of({"id": "w", "nodes": [par("a")], "edges": edges("a>a")}, registry)
    assert ("edges[0]", "cycle") in found


def test_isolated_node_is_unreachable(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [par("a"), par("b"), par("z")], "edges": edges("a>b")}
    assert issues_of(definition, registry) == [("nodes[2]", "unreachable_node")]


def test_node_only_reachable_through_a_cycle_is_unreachable(registry: Registry) -> None:
    definition = {
        "id": "w",
        "nodes": [par("a"), par("x"), par("b"), par("c"), par("d")],
        "edges": edges("a>x", "b>c", "c>b", "c>d"),
    }
    found = issues_of(definition, registry)
    assert ("edges[1]", "cycle") in found
    for path in ("nodes[2]", "nodes[3]", "nodes[4]"):
        assert (path, "unreachable_node") in found
    assert ("nodes[0]", "unreachable_node") not in found
    assert ("nodes[1]", "unreachable_node") not in found


# --- unknown_node and unknown_reference --------------------------------------------------------


def test_edge_naming_no_node(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [par("a")], "edges": edges("a>ghost", "phantom>a")}
    found = issues_of(definition, registry)
    assert ("edges[0].to", "unknown_node") in found
    assert ("edges[1].from", "unknown_node") in found


@pytest.mark.parametrize(
    ("value", "path"),
    [
        ("$ghost.x", "nodes[0].inputs.v"),
        ("Hi {{ $ghost.name }}", "nodes[0].inputs.v"),
        ({"deep": ["$ghost"]}, "nodes[0].inputs.v.deep[0]"),
    ],
)
def test_binding_naming_no_node(registry: Registry, value: Any, path: str) -> None:
    definition = {"id": "w", "nodes": [echo("a", inputs={"v": value})]}
    assert issues_of(definition, registry) == [(path, "unknown_node")]


def test_output_binding_naming_no_node(registry: Registry) -> None:
    definition = {"id": "w", "output": {"x": "$nope.y"}, "nodes": [echo("a")]}
    assert issues_of(definition, registry) == [("output.x", "unknown_node")]


def test_binding_to_a_sibling_branch_or_a_downstream_node(registry: Registry) -> None:
    definition = {
        "id": "w",
        "nodes": [
            echo("a", inputs={"v": "$c.x"}),  # downstream
            echo("b", inputs={"v": "$c.x"}),  # sibling
            echo("c", inputs={"v": "$b.x", "me": "$c.x"}),  # sibling, itself
        ],
        "edges": edges("a>b", "a>c"),
    }
    found = issues_of(definition, registry)
    assert found == [
        ("nodes[0].inputs.v", "unknown_reference"),
        ("nodes[1].inputs.v", "unknown_reference"),
        ("nodes[2].inputs.v", "unknown_reference"),
        ("nodes[2].inputs.me", "unknown_reference"),
    ]
    assert "not upstream" in messages_at(definition, registry, "nodes[1].inputs.v")[0]


def test_binding_to_an_upstream_node_two_levels_up_is_fine(registry: Registry) -> None:
    definition = {
        "id": "w",
        "nodes": [echo("a"), echo("b"), echo("c", inputs={"v": "$a.x", "t": "{{ $b }}"})],
        "edges": edges("a>b", "b>c"),
    }
    assert issues_of(definition, registry) == []


def test_expressions_are_checked_for_upstream_references(registry: Registry) -> None:
    definition = {
        "id": "w",
        "nodes": [
            echo("a", when="$b.ok == true"),
            {"id": "b", "type": "condition", "expression": "$c.value > 1"},
            echo("c"),
        ],
        "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "c", "default": True}],
    }
    found = issues_of(definition, registry)
    assert ("nodes[0].when", "unknown_reference") in found
    assert ("nodes[1].expression", "unknown_reference") in found


def test_input_key_not_in_input_schema(registry: Registry) -> None:
    definition = {
        "id": "w",
        "input_schema": {"type": "object", "properties": {"query": {"type": "string"}}},
        "nodes": [echo("a", inputs={"ok": "$input.query", "bad": "$input.qeury"})],
    }
    assert issues_of(definition, registry) == [("nodes[0].inputs.bad", "unknown_reference")]


def test_input_keys_are_free_without_input_schema(registry: Registry) -> None:
    definition = {"id": "w", "context": {"k": 1},
                  "nodes": [echo("a", inputs={"v": "$input.anything"})]}
    assert issues_of(definition, registry) == []


def test_context_key_declared_nowhere(registry: Registry) -> None:
    definition = {
        "id": "w",
        "context": {"max_price": 200},
        "input_schema": {"type": "object", "properties": {"query": {}}},
        "nodes": [echo("a", inputs={
            "a": "$context.max_price", "b": "$context.query", "c": "$context.colour",
        })],
    }
    assert issues_of(definition, registry) == [("nodes[0].inputs.c", "unknown_reference")]


def test_context_declared_only_by_input_schema(registry: Registry) -> None:
    definition = {
        "id": "w",
        "input_schema": {"type": "object", "properties": {"query": {}}},
        "nodes": [echo("a", inputs={"a": "$context.query", "b": "$context.other"})],
    }
    assert issues_of(definition, registry) == [("nodes[0].inputs.b", "unknown_reference")]


def test_context_keys_are_free_when_nothing_is_declared(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [echo("a", inputs={"a": "$context.whatever"})]}
    assert issues_of(definition, registry) == []


# --- duplicate_id, unknown_node_type, missing_field --------------------------------------------


def test_duplicate_node_id(registry: Registry) -> None:
    definition = {"id": "w", "steps": [echo("a"), echo("b"), echo("a")]}
    found = validate_definition(definition, registry).issues
    assert [(i.path, i.code) for i in found] == [("steps[2].id", "duplicate_id")]
    assert "steps[0]" in found[0].message


def test_unknown_node_type_and_other_fields_still_checked(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [{"id": "a", "type": "teleport", "timeout_seconds": -1}]}
    found = issues_of(definition, registry)
    assert ("nodes[0].type", "unknown_node_type") in found
    assert ("nodes[0].timeout_seconds", "invalid_value") in found
    assert "teleport" in messages_at(definition, registry, "nodes[0].type")[0]


@pytest.mark.parametrize(
    ("node", "path"),
    [
        ({"type": "tool_call", "tool": "echo"}, "nodes[0].id"),
        ({"id": "a", "tool": "echo"}, "nodes[0].type"),
        ({"id": "a", "type": "tool_call"}, "nodes[0].tool"),
        ({"id": "a", "type": "condition"}, "nodes[0].expression"),
        ({"id": "a", "type": "agent_call"}, "nodes[0].agent"),
        ({"id": "a", "type": "agent_call", "model": "fake:echo"}, "nodes[0].prompt"),
    ],
)
def test_missing_node_field(registry: Registry, node: dict[str, Any], path: str) -> None:
    definition = {"id": "w", "nodes": [node]}
    if node.get("type") == "condition":
        definition = {"id": "w", "nodes": [node, echo("b")],
                      "edges": [{"from": "a", "to": "b", "default": True}]}
    assert (path, "missing_field") in issues_of(definition, registry)


def test_condition_out_edge_without_when_or_default(registry: Registry) -> None:
    definition = {
        "id": "w",
        "nodes": [{"id": "c", "type": "condition", "expression": "1"}, echo("b"), echo("d")],
        "edges": [{"from": "c", "to": "b"}, {"from": "c", "to": "d", "default": True}],
    }
    assert issues_of(definition, registry) == [("edges[0].when", "missing_field")]


def test_missing_workflow_id_and_nodes(registry: Registry) -> None:
    found = issues_of({"name": "nameless"}, registry)
    assert ("id", "missing_field") in found
    assert ("nodes", "missing_field") in found


# --- invalid_expression --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "expression",
    [
        "__import__('os')",
        "__import__('os').system('true')",
        "open('/etc/passwd')",
        "(1).real",
        "$input.x.upper()",
        "lambda: 1",
        "[x for x in [1, 2]]",
        "(x for x in [1])",
        "2 ** 10",
        "{'a': 1}",
        "(x := 1)",
        "'abc'[0]",
        "undefined_name == 1",
        "1 +",
        "$",
        "",
    ],
)
def test_invalid_condition_expression(registry: Registry, expression: str) -> None:
    definition = {
        "id": "w",
        "nodes": [{"id": "c", "type": "condition", "expression": expression}, echo("b")],
        "edges": [{"from": "c", "to": "b", "default": True}],
    }
    assert issues_of(definition, registry) == [("nodes[0].expression", "invalid_expression")]


def test_invalid_when_expression(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [echo("a", when="len($input.x) > 1")]}
    assert issues_of(definition, registry) == [("nodes[0].when", "invalid_expression")]


@pytest.mark.parametrize(
    ("field", "value", "path"),
    [
        ("inputs", {"text": "total: {{ 1 + 1 }}"}, "nodes[0].inputs.text"),
        ("inputs", {"deep": [{"t": "{{ input.x }}"}]}, "nodes[0].inputs.deep[0].t"),
        ("prompt", "Hello {{ name }}", "nodes[0].prompt"),
    ],
)
def test_bad_template(registry: Registry, field: str, value: Any, path: str) -> None:
    node = ({"id": "a", "type": "agent_call", "model": "fake:echo", "prompt": value}
            if field == "prompt" else echo("a", inputs=value))
    assert issues_of({"id": "w", "nodes": [node]}, registry) == [(path, "invalid_expression")]


def test_every_bad_template_is_reported(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [echo("a", inputs={"x": "{{ 1 }}", "y": "{{ 2 }}"})]}
    assert issues_of(definition, registry) == [
        ("nodes[0].inputs.x", "invalid_expression"),
        ("nodes[0].inputs.y", "invalid_expression"),
    ]


# --- unknown_tool and unknown_agent --------------------------------------------------------------


def test_unknown_tool(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [tool_node("a", "launch_rockets")]}
    assert issues_of(definition, registry) == [("nodes[0].tool", "unknown_tool")]
    assert "launch_rockets" in messages_at(definition, registry, "nodes[0].tool")[0]


def test_tools_are_not_checked_without_a_registry() -> None:
    assert issues_of({"id": "w", "nodes": [tool_node("a", "launch_rockets")]}, None) == []


def test_unknown_agent_name(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [{"id": "a", "type": "agent_call", "agent": "nobody"}]}
    assert issues_of(definition, registry) == [("nodes[0].agent", "unknown_agent")]
    assert "echo_agent" in messages_at(definition, registry, "nodes[0].agent")[0]


def test_known_agent_and_fake_model_are_accepted(registry: Registry) -> None:
    definition = {"id": "w", "steps": [
        {"id": "a", "type": "agent_call", "agent": "echo_agent"},
        {"id": "m", "type": "agent_call", "model": "fake:echo", "prompt": "hi"},
    ]}
    assert issues_of(definition, registry) == []


@pytest.mark.parametrize(
    ("model", "needle"),
    [
        ("nope:some-model", "unknown model provider 'nope'"),
        ("fake:parrot", "fake:echo"),
        ("gpt-4o", "provider:model"),
        ("openai:gpt-4o", "langchain-openai"),
    ],
)
def test_unusable_model(registry: Registry, model: str, needle: str) -> None:
    definition = {"id": "w", "nodes": [
        {"id": "a", "type": "agent_call", "model": model, "prompt": "hi"}]}
    assert issues_of(definition, registry) == [("nodes[0].model", "unknown_agent")]
    assert needle in messages_at(definition, registry, "nodes[0].model")[0]


# --- invalid_value -------------------------------------------------------------------------------


@pytest.mark.parametrize("workflow_id", ["runs", "validate"])
def test_reserved_workflow_ids(registry: Registry, workflow_id: str) -> None:
    definition = {"id": workflow_id, "nodes": [echo("a")]}
    assert issues_of(definition, registry) == [("id", "invalid_value")]
    assert "reserved" in messages_at(definition, registry, "id")[0]


@pytest.mark.parametrize("workflow_id", ["Hotel", "1abc", "a b", "a" * 65, "", "hotel.search", 7])
def test_bad_workflow_id(registry: Registry, workflow_id: Any) -> None:
    assert issues_of({"id": workflow_id, "nodes": [echo("a")]}, registry) == [
        ("id", "invalid_value")]


@pytest.mark.parametrize("node_id", ["1a", "a b", "a.b", "", "x" * 65, "input", "context", "__x"])
def test_bad_or_reserved_node_id(registry: Registry, node_id: str) -> None:
    found = issues_of({"id": "w", "nodes": [echo(node_id)]}, registry)
    assert ("nodes[0].id", "invalid_value") in found


def test_two_default_edges(registry: Registry) -> None:
    definition = {
        "id": "w",
        "nodes": [{"id": "c", "type": "condition", "expression": "1"}, echo("b"), echo("d")],
        "edges": [{"from": "c", "to": "b", "default": True},
                  {"from": "c", "to": "d", "default": True}],
    }
    assert issues_of(definition, registry) == [("edges[1].default", "invalid_value")]


@pytest.mark.parametrize("extra", [{"when": True}, {"default": True}])
def test_when_or_default_on_an_edge_not_from_a_condition(
    registry: Registry, extra: dict[str, Any]
) -> None:
    definition = {"id": "w", "nodes": [echo("a"), echo("b")],
                  "edges": [{"from": "a", "to": "b", **extra}]}
    assert issues_of(definition, registry) == [("edges[0]", "invalid_value")]


def test_when_and_default_on_one_edge(registry: Registry) -> None:
    definition = {
        "id": "w",
        "nodes": [{"id": "c", "type": "condition", "expression": "1"}, echo("b")],
        "edges": [{"from": "c", "to": "b", "when": 1, "default": True}],
    }
    assert issues_of(definition, registry) == [("edges[0]", "invalid_value")]


def test_condition_without_out_edges(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [{"id": "c", "type": "condition", "expression": "1"}]}
    assert issues_of(definition, registry) == [("nodes[0]", "invalid_value")]


def test_join_without_incoming_branches(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [{"id": "j", "type": "join"}, echo("b")],
                  "edges": edges("j>b")}
    assert issues_of(definition, registry) == [("nodes[0]", "invalid_value")]


def test_steps_with_edges_and_nodes_with_steps(registry: Registry) -> None:
    assert issues_of({"id": "w", "steps": [echo("a"), echo("b")], "edges": edges("a>b")},
                     registry) == [("edges", "invalid_value")]
    assert ("steps", "invalid_value") in issues_of(
        {"id": "w", "nodes": [echo("a")], "steps": [echo("b")]}, registry)


@pytest.mark.parametrize("kind", ["condition", "parallel", "join"])
def test_steps_with_a_flow_node(registry: Registry, kind: str) -> None:
    node = {"id": "x", "type": kind}
    if kind == "condition":
        node["expression"] = "1"
    found = issues_of({"id": "w", "steps": [echo("a"), node]}, registry)
    assert ("steps[1].type", "invalid_value") in found


@pytest.mark.parametrize(
    ("node_extra", "path"),
    [
        ({"retry": {"max_attempts": 0}}, "nodes[0].retry.max_attempts"),
        ({"retry": {"max_attempts": 101}}, "nodes[0].retry.max_attempts"),
        ({"retry": {"backoff_factor": 0.5}}, "nodes[0].retry.backoff_factor"),
        ({"retry": {"initial_interval_seconds": -1}}, "nodes[0].retry.initial_interval_seconds"),
        ({"retry": {"max_interval_seconds": "soon"}}, "nodes[0].retry.max_interval_seconds"),
        ({"retry": {"attempts": 3}}, "nodes[0].retry.attempts"),
        ({"retry": 3}, "nodes[0].retry"),
        ({"max_retries": -1}, "nodes[0].max_retries"),
        ({"max_retries": 2, "retry": {"max_attempts": 3}}, "nodes[0].max_retries"),
        ({"timeout_seconds": 0}, "nodes[0].timeout_seconds"),
        ({"on_failure": "shrug"}, "nodes[0].on_failure"),
        ({"colour": "red"}, "nodes[0].colour"),
        ({"prompt": "hi"}, "nodes[0].prompt"),
        ({"inputs": ["not", "a", "mapping"]}, "nodes[0].inputs"),
    ],
)
def test_bad_node_values(registry: Registry, node_extra: dict[str, Any], path: str) -> None:
    definition = {"id": "w", "nodes": [echo("a", **node_extra)]}
    assert issues_of(definition, registry) == [(path, "invalid_value")]


@pytest.mark.parametrize(
    ("top", "path"),
    [
        ({"input_schema": {"type": "no-such-type"}}, "input_schema"),
        ({"input_schema": {"properties": 5}}, "input_schema"),
        ({"input_schema": "object"}, "input_schema"),
        ({"settings": {"max_execution_time_seconds": 0}}, "settings.max_execution_time_seconds"),
        ({"settings": {"stop_on_failure": "perhaps"}}, "settings.stop_on_failure"),
        ({"context": ["a"]}, "context"),
        ({"owner": "me"}, "owner"),
    ],
)
def test_bad_top_level_values(registry: Registry, top: dict[str, Any], path: str) -> None:
    definition = {"id": "w", "nodes": [echo("a")], **top}
    assert issues_of(definition, registry) == [(path, "invalid_value")]


def test_empty_nodes_and_a_repeated_edge(registry: Registry) -> None:
    assert issues_of({"id": "w", "nodes": []}, registry) == [("nodes", "invalid_value")]
    definition = {"id": "w", "nodes": [echo("a"), echo("b")], "edges": edges("a>b", "a>b")}
    assert issues_of(definition, registry) == [("edges[1]", "invalid_value")]


# --- many problems at once, and input of any shape ------------------------------------------------


def test_every_problem_is_reported_at_once(registry: Registry) -> None:
    definition = {
        "id": "runs",
        "nodes": [
            tool_node("a", "no_such_tool"),
            {"id": "b", "type": "warp"},
            echo("a"),
            {"id": "c", "type": "condition", "expression": "__import__('os')"},
            echo("d", inputs={"v": "$zzz.x"}),
            {"id": "e", "type": "agent_call", "agent": "nobody"},
        ],
        "edges": edges("a>c", "c>ghost", "c>d", "d>e"),
    }
    found = issues_of(definition, registry)
    expected = {
        ("id", "invalid_value"),
        ("nodes[0].tool", "unknown_tool"),
        ("nodes[1].type", "unknown_node_type"),
        ("nodes[2].id", "duplicate_id"),
        ("nodes[3].expression", "invalid_expression"),
        ("edges[1].to", "unknown_node"),
        ("edges[2].when", "missing_field"),
        ("nodes[4].inputs.v", "unknown_node"),
        ("nodes[5].agent", "unknown_agent"),
        ("nodes[1]", "unreachable_node"),
    }
    assert expected <= set(found)
    assert {code for _, code in found} <= ISSUE_CODES


@pytest.mark.parametrize("raw", [None, 1, 2.5, True, "id: x", [], [{"id": "w"}], b"{}"])
def test_a_definition_that_is_not_a_mapping(raw: Any, registry: Registry) -> None:
    result = validate_definition(raw, registry)
    assert [(i.path, i.code) for i in result.issues] == [("", "invalid_value")]
    assert result.spec is None


@pytest.mark.parametrize("nodes", ["a,b", 5, {"id": "a"}, None])
def test_nodes_that_are_not_a_list(registry: Registry, nodes: Any) -> None:
    assert ("nodes", "invalid_value") in issues_of({"id": "w", "nodes": nodes}, registry)


def test_node_and_edge_entries_that_are_not_mappings(registry: Registry) -> None:
    definition = {"id": "w", "nodes": [echo("a"), "b", 3, None, ["c"]], "edges": ["a>b", 1]}
    found = issues_of(definition, registry)
    for path in ("nodes[1]", "nodes[2]", "nodes[3]", "nodes[4]", "edges[0]", "edges[1]"):
        assert (path, "invalid_value") in found


GARBAGE: list[Any] = [
    None, 0, -1, 10**30, 1.5, float("nan"), float("inf"), True, False, "", "x", "$", "$a",
    "{{", "{{ $a }}", "{{ nope }}", "__import__('os')", [], [1], [None], {}, {"a": 1},
    {"from": 1}, [[{}]], "\x00", "é" * 5,
]
TOP_FIELDS = ["id", "name", "description", "input_schema", "context", "settings", "output",
              "nodes", "edges", "steps", "unknown"]
NODE_FIELDS = ["id", "type", "name", "description", "inputs", "retry", "max_retries",
               "timeout_seconds", "on_failure", "continue_on_failure", "when", "tool", "agent",
               "model", "system", "prompt", "on_reject", "expression", "unknown"]
EDGE_FIELDS = ["from", "to", "when", "default", "unknown"]


def _rich_definition() -> dict[str, Any]:
    return {
        "id": "w", "context": {"k": 1}, "settings": {}, "output": {"o": "$a"},
        "input_schema": {"type": "object", "properties": {"q": {}}},
        "nodes": [
            echo("a", inputs={"value": "$input.q"}),
            {"id": "c", "type": "condition", "expression": "$a == 1"},
            {"id": "b", "type": "agent_call", "model": "fake:echo", "prompt": "hi", "system": "s"},
            {"id": "g", "type": "human_gate", "prompt": "ok?"},
        ],
        "edges": [{"from": "a", "to": "c"}, {"from": "c", "to": "b", "when": True},
                  {"from": "c", "to": "g", "default": True}],
    }


def _check_never_crashes(definition: dict[str, Any], registry: Registry) -> None:
    result = validate_definition(definition, registry)
    assert result.valid == (result.spec is not None)
    for issue in result.issues:
        assert issue.code in ISSUE_CODES
        assert isinstance(issue.path, str) and issue.message


def test_garbage_in_every_field_never_crashes(registry: Registry) -> None:
    assert validate_definition(_rich_definition(), registry).valid
    for value in GARBAGE:
        for name in TOP_FIELDS:
            definition = _rich_definition()
            definition[name] = value
            _check_never_crashes(definition, registry)
        for name in NODE_FIELDS:
            for index in range(4):
                definition = _rich_definition()
                definition["nodes"][index][name] = value
                _check_never_crashes(definition, registry)
        for name in EDGE_FIELDS:
            definition = _rich_definition()
            definition["edges"][1][name] = value
            _check_never_crashes(definition, registry)
        for name in ("stop_on_failure", "max_execution_time_seconds"):
            definition = _rich_definition()
            definition["settings"][name] = value
            _check_never_crashes(definition, registry)
        for name in ("max_attempts", "initial_interval_seconds", "backoff_factor",
                     "max_interval_seconds"):
            definition = _rich_definition()
            definition["nodes"][0]["retry"] = {name: value}
            _check_never_crashes(definition, registry)


def test_deeply_nested_inputs_do_not_crash(registry: Registry) -> None:
    deep: Any = "$input.x"
    for _ in range(5000):
        deep = [deep]
    _check_never_crashes({"id": "w", "nodes": [echo("a", inputs={"v": deep})]}, registry)


def test_a_flood_of_issues_is_capped_with_a_count_of_the_rest() -> None:
    nodes = [
        {"id": f"n{i}", "type": "tool_call", "tool": "echo", "inputs": {"v": "$nowhere"}}
        for i in range(700)
    ]
    edges = [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(699)]
    result = validate_definition({"id": "flood", "nodes": nodes, "edges": edges})
    assert len(result.issues) == 501
    assert result.issues[0].code == "unknown_node"
    assert result.issues[-1].message.startswith("200 more issues")
