"""Bindings: whole bindings keep their JSON type, `{{ }}` renders text, missing data is None."""

from __future__ import annotations

from typing import Any

import pytest
from graphs_testkit import start_run, tool_node, valid_spec
from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.bindings import TemplateError, iter_refs, resolve
from graphs.compile import compile_workflow
from graphs.registry import Registry

STATE: dict[str, Any] = {
    "input": {"n": 7, "ratio": 0.5, "flag": False, "tags": ["a", "b"], "opts": {"k": 1},
              "name": "Zoë", "nothing": None},
    "search": {"hotels": [{"name": "Harbour", "rooms": [{"beds": 2}]}], "count": 1},
}


def res(value: Any) -> Any:
    return resolve(value, STATE.get)


@pytest.mark.parametrize(
    ("binding", "expected"),
    [
        ("$input.n", 7),
        ("$input.ratio", 0.5),
        ("$input.flag", False),
        ("$input.tags", ["a", "b"]),
        ("$input.opts", {"k": 1}),
        ("$input.nothing", None),
        ("  $input.n  ", 7),
        ("$search", STATE["search"]),
    ],
)
def test_a_whole_binding_keeps_its_json_type(binding: str, expected: Any) -> None:
    value = res(binding)
    assert value == expected and type(value) is type(expected)


@pytest.mark.parametrize(
    ("binding", "expected"),
    [
        ("$search.hotels[0].name", "Harbour"),
        ("$search.hotels[0].rooms[0].beds", 2),
        ("$input.tags[1]", "b"),
        ("$search.count", 1),
    ],
)
def test_paths_below_a_node(binding: str, expected: Any) -> None:
    assert res(binding) == expected


@pytest.mark.parametrize(
    "binding",
    [
        "$input.missing",
        "$input.missing.deeper",
        "$input.tags[5]",
        "$input.opts[0]",  # an index into a mapping
        "$input.tags.first",  # a key into a list
        "$input.n.digits",  # a key into a number
        "$ghost.anything",
        "$search.hotels[0].rooms[3].beds",
    ],
)
def test_missing_data_is_none(binding: str) -> None:
    assert res(binding) is None


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("n={{ $input.n }}", "n=7"),
        ("{{$input.name}} says hi", "Zoë says hi"),
        ("flag: {{ $input.flag }}", "flag: false"),
        ("opts: {{ $input.opts }}", 'opts: {"k": 1}'),
        ("tags: {{ $input.tags }}", 'tags: ["a", "b"]'),
        ("[{{ $input.nothing }}] [{{ $input.missing }}]", "[] []"),
        ("{{ $search.hotels[0].name }} x{{ $search.count }}", "Harbour x1"),
        ("no bindings here, $5 and all", "no bindings here, $5 and all"),
    ],
)
def test_templates_render_text(template: str, expected: str) -> None:
    assert res(template) == expected


def test_resolution_goes_through_mappings_and_lists() -> None:
    value = {"a": ["$input.n", {"b": "{{ $input.name }}!"}], "c": 3, "d": None}
    assert res(value) == {"a": [7, {"b": "Zoë!"}], "c": 3, "d": None}


def test_iter_refs_reports_where_each_binding_stands() -> None:
    value = {"q": "$input.query", "list": ["x", "{{ $search.count }} of {{ $input.n }}"]}
    found = [(path, ref.root, ref.path) for path, ref in iter_refs(value, "nodes[0].inputs")]
    assert found == [
        ("nodes[0].inputs.q", "input", ("query",)),
        ("nodes[0].inputs.list[1]", "search", ("count",)),
        ("nodes[0].inputs.list[1]", "input", ("n",)),
    ]


@pytest.mark.parametrize("text", ["{{ 1 + 1 }}", "{{ name }}", "{{ $a }} {{ $b.c + 1 }}"])
def test_a_template_block_must_hold_one_binding(text: str) -> None:
    with pytest.raises(TemplateError):
        list(iter_refs(text, "p"))


async def test_values_keep_their_type_through_a_real_run(
    registry: Registry, saver: BaseCheckpointSaver[Any]
) -> None:
    definition = {
        "id": "types",
        "context": {"limit": 10, "currency": "EUR", "region": "eu"},
        "input_schema": {"type": "object",
                         "properties": {"n": {}, "tags": {}, "opts": {}, "yes": {}, "region": {}}},
        "nodes": [
            tool_node("first", "echo", inputs={"value": {
                "n": "$input.n", "tags": "$input.tags", "opts": "$input.opts",
                "yes": "$input.yes", "limit": "$context.limit", "region": "$context.region",
            }}),
            tool_node("second", "echo", inputs={"value": {
                "tag": "$first.tags[1]", "k": "$first.opts.k", "missing": "$first.opts.zz",
                "text": "{{ $first.n }} {{ $first.opts }} {{ $first.missing }}|"
                        "{{ $context.currency }}",
            }}),
        ],
        "edges": [{"from": "first", "to": "second"}],
    }
    run_input = {"n": 3, "tags": ["x", "y"], "opts": {"k": [1, 2]}, "yes": True, "region": "us"}
    run = await start_run(definition, registry, saver, run_input)
    assert run.result.status == "COMPLETED"
    first = run.result.records["first"]["output"]
    # $context is the context defaults with the run input laid over them.
    assert first == {"n": 3, "tags": ["x", "y"], "opts": {"k": [1, 2]}, "yes": True,
                     "limit": 10, "region": "us"}
    assert run.result.output == {"second": {
        "tag": "y", "k": [1, 2], "missing": None, "text": '3 {"k": [1, 2]} |EUR',
    }}


def test_context_is_defaults_with_input_over_them(registry: Registry) -> None:
    spec = valid_spec({"id": "w", "context": {"a": 1, "b": 2},
                       "nodes": [tool_node("x", "echo")]}, registry)
    state = compile_workflow(spec, registry).initial_state({"b": 3, "c": 4})
    assert state == {"input": {"b": 3, "c": 4}, "context": {"a": 1, "b": 3, "c": 4}}
    assert spec.context == {"a": 1, "b": 2}  # the defaults are not changed by a run
