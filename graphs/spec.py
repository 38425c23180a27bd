"""Pydantic models of the workflow definition format (API.md section 5); no LangGraph here."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from graphs.errors import DefinitionError

ID_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"
NODE_ID_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,63}$"
NODE_TYPES = ("tool_call", "agent_call", "human_gate", "condition", "parallel", "join")
RESERVED_WORKFLOW_IDS = frozenset({"runs", "validate"})
RESERVED_NODE_IDS = frozenset({"input", "context"})
MAX_DEFINITION_BYTES = 1_000_000
# Bounds that keep validating a definition under a second or so, whatever it holds.
MAX_NODES = 1000
MAX_EDGES = 5000
# What a stored value may hold: the checkpoint serializer and the JSON encoder give up near
# 255 levels and beyond 64-bit integers, and JSON has no NaN or Infinity.
MAX_NESTING = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1

NodeType = Literal["tool_call", "agent_call", "human_gate", "condition", "parallel", "join"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class RetrySpec(_Model):
    """Attempts and exponential backoff of one node."""

    max_attempts: int = Field(1, ge=1, le=100)
    initial_interval_seconds: float = Field(0.5, ge=0, le=3600)
    backoff_factor: float = Field(2.0, ge=1, le=100)
    max_interval_seconds: float = Field(30.0, ge=0, le=86400)

    def delay(self, attempt: int) -> float:
        """Seconds to wait after failed attempt number `attempt` (1-based)."""
        raw = self.initial_interval_seconds * self.backoff_factor ** (attempt - 1)
        return float(min(raw, self.max_interval_seconds))


class SettingsSpec(_Model):
    """Run-wide settings."""

    stop_on_failure: bool = True
    max_execution_time_seconds: float | None = Field(None, gt=0, le=30 * 86400)


class NodeSpec(_Model):
    """One node of a workflow; which fields matter depends on `type`."""

    id: str = Field(pattern=NODE_ID_PATTERN)
    type: NodeType
    name: str | None = None
    description: str | None = None
    inputs: dict[str, Any] = Field(default_factory=dict)
    retry: RetrySpec | None = None
    max_retries: int | None = Field(None, ge=0, le=99)
    timeout_seconds: float | None = Field(None, gt=0, le=86400)
    on_failure: Literal["fail", "continue"] = "fail"
    continue_on_failure: bool | None = None
    when: str | None = None
    # tool_call
    tool: str | None = None
    # agent_call
    agent: str | None = None
    model: str | None = None
    system: str | None = None
    prompt: str | None = None
    # human_gate
    on_reject: Literal["fail", "continue"] = "fail"
    # condition
    expression: str | None = None

    @property
    def retry_policy(self) -> RetrySpec:
        """The effective retry policy: `retry`, else `max_retries`, else one attempt."""
        if self.retry is not None:
            return self.retry
        if self.max_retries is not None:
            return RetrySpec(max_attempts=self.max_retries + 1)
        return RetrySpec()

    @property
    def continues_on_failure(self) -> bool:
        return self.on_failure == "continue" or bool(self.continue_on_failure)


class EdgeSpec(_Model):
    """A directed edge; `when`/`default` only on the out-edges of a `condition`."""

    source: str = Field(alias="from")
    target: str = Field(alias="to")
    when: Any = None
    default: bool = False

    @property
    def has_when(self) -> bool:
        return "when" in self.model_fields_set


class WorkflowSpec(_Model):
    """A whole definition, normalised to `nodes` + `edges` (a `steps` list becomes a chain)."""

    id: str = Field(pattern=ID_PATTERN)
    name: str | None = None
    description: str | None = None
    input_schema: dict[str, Any] | None = None
    context: dict[str, Any] = Field(default_factory=dict)
    settings: SettingsSpec = Field(default_factory=SettingsSpec)
    output: dict[str, Any] | None = None
    nodes: list[NodeSpec] = Field(default_factory=list)
    edges: list[EdgeSpec] = Field(default_factory=list)
    steps: list[NodeSpec] | None = None

    @model_validator(mode="after")
    def _steps_to_chain(self) -> WorkflowSpec:
        if self.steps is not None and not self.nodes:
            self.nodes = list(self.steps)
            self.edges = [
                EdgeSpec.model_validate({"from": a.id, "to": b.id})
                for a, b in zip(self.steps, self.steps[1:], strict=False)
            ]
        return self

    def node(self, node_id: str) -> NodeSpec:
        return next(n for n in self.nodes if n.id == node_id)


def parse_definition(text: str | bytes, content_type: str | None = None) -> Any:
    """Read a definition from JSON or YAML text; raises DefinitionError on unreadable text.

    YAML is read with the safe loader (no Python objects) and aliases are refused, so an
    alias bomb cannot blow up memory.
    """
    if len(text) > MAX_DEFINITION_BYTES:
        raise DefinitionError(f"definition is larger than {MAX_DEFINITION_BYTES} bytes")
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise DefinitionError("definition is not UTF-8 text") from exc
    kind = (content_type or "").lower()
    if "json" in kind:
        return _load_json(text)
    if "yaml" in kind or "yml" in kind:
        return _load_yaml(text)
    stripped = text.lstrip()
    return _load_json(text) if stripped.startswith(("{", "[")) else _load_yaml(text)


def _load_json(text: str) -> Any:
    try:
        return json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise DefinitionError(f"definition is not valid JSON: {exc}") from exc


class _NoAliasLoader(yaml.SafeLoader):
    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()  # type: ignore[no-untyped-call]
            raise yaml.constructor.ConstructorError(
                None, None, "YAML aliases are not allowed in definitions", event.start_mark
            )
        return super().compose_node(parent, index)


def _timestamp_as_text(loader: yaml.SafeLoader, node: yaml.ScalarNode) -> str:
    return str(loader.construct_scalar(node))


# A YAML date stays the text it was written as: definitions hold JSON values only.
_NoAliasLoader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


def json_value_problem(value: Any, path: str = "") -> tuple[str, str] | None:
    """(path, reason) of the first part of `value` that is not a storable JSON value, or None.

    Refused: nesting deeper than MAX_NESTING, NaN and infinite numbers, integers beyond 64
    bits, object keys that are not strings, and non-JSON types (YAML sets, binary). Walks
    without recursion, so a value of any depth is safe to check.
    """
    stack: list[tuple[Any, str, int]] = [(value, path, 0)]
    while stack:
        item, where, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth >= MAX_NESTING:
                return where, f"values may be nested at most {MAX_NESTING} levels deep"
            if isinstance(item, list):
                stack.extend((sub, f"{where}[{i}]", depth + 1) for i, sub in enumerate(item))
                continue
            for key, sub in item.items():
                if not isinstance(key, str):
                    return where, f"object keys must be strings, not {key!r}"
                stack.append((sub, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(item, float) and not math.isfinite(item):
            return where, "numbers must be finite (JSON has no NaN or Infinity)"
        elif (
            isinstance(item, int)
            and not isinstance(item, bool)
            and not (INT64_MIN <= item <= INT64_MAX)
        ):
            return where, "integers must fit in 64 bits"
        elif not isinstance(item, str | int | float | bool | type(None)):
            return where, f"{type(item).__name__} is not a JSON value"
    return None


def _load_yaml(text: str) -> Any:
    try:
        return yaml.load(text, Loader=_NoAliasLoader)  # noqa: S506 - a SafeLoader subclass
    except (yaml.YAMLError, RecursionError) as exc:
        raise DefinitionError(f"definition is not valid YAML: {_short(exc)}") from exc


def _short(exc: Exception) -> str:
    return re.sub(r"\s+", " ", str(exc)).strip()[:300]


def definition_json_schema() -> dict[str, Any]:
    """JSON Schema of the definition format, for editors."""
    schema = WorkflowSpec.model_json_schema(by_alias=True)
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "Graphyard workflow definition"
    return schema
