"""What every node kind receives: its spec, the run state, the registry and an event sink."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from pydantic_core import to_jsonable_python

from graphs.bindings import resolve
from graphs.registry import Registry
from graphs.spec import EdgeSpec, NodeSpec

NODE_KEY_PREFIX = "n:"
Emit = Callable[[str, dict[str, Any]], None]


def node_key(node_id: str) -> str:
    """The state key that holds a node's record."""
    return NODE_KEY_PREFIX + node_id


def state_scope(state: dict[str, Any]) -> Callable[[str], Any]:
    """Binding roots for a state: `input`, `context`, or a node's output."""

    def scope(root: str) -> Any:
        if root in ("input", "context"):
            return state.get(root)
        record = state.get(node_key(root))
        return record.get("output") if isinstance(record, dict) else None

    return scope


def to_jsonable(value: Any) -> Any:
    """Keep state JSON-like (the checkpointer cannot store arbitrary objects)."""
    if hasattr(value, "model_dump") and hasattr(value, "type") and hasattr(value, "content"):
        return {"type": value.type, "content": value.content}
    return to_jsonable_python(value, fallback=str)


@dataclass
class NodeContext:
    """One execution of one node."""

    node: NodeSpec
    state: dict[str, Any]
    registry: Registry
    emit: Emit
    sources: list[str]
    out_edges: list[EdgeSpec]
    usage: dict[str, int] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def targets(self) -> list[str]:
        return [e.target for e in self.out_edges]

    def resolve(self, value: Any) -> Any:
        return resolve(value, state_scope(self.state))

    def record(self, node_id: str) -> dict[str, Any]:
        value = self.state.get(node_key(node_id))
        return value if isinstance(value, dict) else {}

    def add_usage(self, input_tokens: int, output_tokens: int) -> None:
        self.usage["input_tokens"] = self.usage.get("input_tokens", 0) + input_tokens
        self.usage["output_tokens"] = self.usage.get("output_tokens", 0) + output_tokens


NodeKind = Callable[[NodeContext], Awaitable[Any]]
