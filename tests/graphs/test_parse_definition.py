"""parse_definition: JSON and YAML text in, a plain value out; anything unreadable refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from graphs.errors import DefinitionError
from graphs.spec import MAX_DEFINITION_BYTES, definition_json_schema, parse_definition

DEFINITION = {"id": "w", "steps": [{"id": "a", "type": "tool_call", "tool": "echo"}]}
YAML_TEXT = "id: w\nsteps:\n  - {id: a, type: tool_call, tool: echo}\n"


@pytest.mark.parametrize(
    "content_type", [None, "application/json", "application/json; charset=utf-8"]
)
def test_json(content_type: str | None) -> None:
    assert parse_definition(json.dumps(DEFINITION), content_type) == DEFINITION


@pytest.mark.parametrize(
    "content_type", [None, "application/yaml", "application/x-yaml", "text/yml"]
)
def test_yaml(content_type: str | None) -> None:
    assert parse_definition(YAML_TEXT, content_type) == DEFINITION


def test_bytes_are_read_as_utf8() -> None:
    text = "id: w\nname: Café\nsteps: []\n"
    assert parse_definition(text.encode("utf-8"))["name"] == "Café"
    with pytest.raises(DefinitionError, match="UTF-8"):
        parse_definition(b"id: \xff\xfe\n")


def test_yaml_aliases_are_refused() -> None:
    text = "base: &b {x: 1}\nid: w\ncopy: *b\n"
    with pytest.raises(DefinitionError, match="alias"):
        parse_definition(text, "yaml")


def test_yaml_alias_bomb_is_refused_quickly() -> None:
    lines = ["a: &a [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 10):
        prev, cur = chr(ord("a") + i - 1), chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]")
    with pytest.raises(DefinitionError):
        parse_definition("\n".join(lines), "yaml")


def test_yaml_python_tags_run_nothing(tmp_path: Path) -> None:
    marker = tmp_path / "pwned"
    text = f"!!python/object/apply:os.system ['touch {marker}']\n"
    with pytest.raises(DefinitionError):
        parse_definition(text, "yaml")
    assert not marker.exists()


def test_definitions_over_one_megabyte_are_refused() -> None:
    big = json.dumps({"id": "w", "description": "x" * MAX_DEFINITION_BYTES})
    with pytest.raises(DefinitionError, match="larger"):
        parse_definition(big)
    with pytest.raises(DefinitionError, match="larger"):
        parse_definition(big.encode())


@pytest.mark.parametrize(
    ("text", "content_type"),
    [
        ("{not json", None),
        ("{not json", "application/json"),
        ("id: [unclosed", "application/yaml"),
        ("a: b: c", None),
        ("\t- bad indentation:\n  -", "yaml"),
        ("[" * 100_000, "application/json"),
    ],
)
def test_unreadable_text(text: str, content_type: str | None) -> None:
    with pytest.raises(DefinitionError) as info:
        parse_definition(text, content_type)
    assert info.value.code == "invalid_workflow"


def test_json_schema_of_the_format() -> None:
    schema = definition_json_schema()
    assert schema["title"] == "Graphyard workflow definition"
    assert {"id", "nodes", "edges", "steps"} <= set(schema["properties"])
    edge = schema["$defs"]["EdgeSpec"]["properties"]
    assert {"from", "to"} <= set(edge)  # the aliases users write, not the Python names
