"""Helpers for the engine tests: tools defined here, a registry, and a run on real SQLite."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from langchain_core.tools import BaseTool, tool
from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.agents import AgentRegistry
from graphs.compile import CompiledWorkflow, compile_workflow
from graphs.errors import HardError, RetryableError
from graphs.registry import Registry
from graphs.runner import RunResult, decision_command, drive
from graphs.spec import WorkflowSpec
from graphs.tools import BUILTIN_TOOLS, ToolRegistry
from graphs.validate import validate_definition

REPO = Path(__file__).resolve().parents[2]
LANGGRAPH_JSON = REPO / "langgraph.json"

ISSUE_CODES = {
    "cycle", "unreachable_node", "unknown_node", "unknown_reference", "duplicate_id",
    "unknown_node_type", "missing_field", "invalid_expression", "unknown_tool",
    "unknown_agent", "invalid_value",
}


def log_lines(path: str | Path) -> list[str]:
    """The lines a test tool appended to a side-effect file (none when it does not exist)."""
    p = Path(path)
    return p.read_text(encoding="utf-8").splitlines() if p.exists() else []


def _append(log: str, label: str) -> int:
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(label + "\n")
    return log_lines(log).count(label)


@tool
def record(log: str, label: str, value: Any = None) -> dict[str, Any]:
    """Append `label` to the file `log` and return what it was given."""
    _append(log, label)
    return {"label": label, "value": value}


@tool
async def nap(seconds: float, label: str = "") -> dict[str, Any]:
    """Sleep without blocking the event loop."""
    await asyncio.sleep(seconds)
    return {"label": label, "slept": seconds}


def _error(kind: str, message: str) -> Exception:
    errors: dict[str, Exception] = {
        "retryable": RetryableError(message),
        "hard": HardError(message),
        "value": ValueError(message),
        "timeout": TimeoutError(message),
        "connection": ConnectionError(message),
    }
    return errors[kind]


@tool
def fail_first(log: str, label: str, failures: int, kind: str = "retryable") -> dict[str, Any]:
    """Fail the first `failures` calls for `label` (counted in `log`) with an error of `kind`."""
    calls = _append(log, label)
    if calls <= failures:
        raise _error(kind, f"{label} failed on call {calls}")
    return {"label": label, "calls": calls}


TEST_TOOLS: tuple[BaseTool, ...] = (record, nap, fail_first)


def make_registry(*extra: BaseTool) -> Registry:
    """Built-in tools, the test tools, and the agents of the repository's langgraph.json."""
    tools = ToolRegistry([*BUILTIN_TOOLS, *TEST_TOOLS, *extra])
    return Registry(tools, AgentRegistry(LANGGRAPH_JSON))


def valid_spec(definition: dict[str, Any], registry: Registry) -> WorkflowSpec:
    result = validate_definition(definition, registry)
    assert result.issues == [], result.issues
    assert result.spec is not None
    return result.spec


def tool_node(node_id: str, tool_name: str, **extra: Any) -> dict[str, Any]:
    return {"id": node_id, "type": "tool_call", "tool": tool_name, **extra}


def record_node(node_id: str, log: Path, **extra: Any) -> dict[str, Any]:
    """A node that appends its id to `log` and returns {"label": id, "value": ...}."""
    inputs = {"log": str(log), "label": node_id, **extra.pop("inputs", {})}
    return tool_node(node_id, "record", inputs=inputs, **extra)


def edges(*pairs: str) -> list[dict[str, Any]]:
    """`edges("a>b", "b>c")` -> [{"from": "a", "to": "b"}, ...]."""
    out = []
    for pair in pairs:
        source, target = pair.split(">")
        out.append({"from": source, "to": target})
    return out


@dataclass
class Run:
    """One workflow run: its compiled graph, its id, the last result and every event seen."""

    workflow: CompiledWorkflow
    run_id: str
    result: RunResult
    events: list[dict[str, Any]] = field(default_factory=list)

    async def sink(self, event: dict[str, Any]) -> None:
        self.events.append(event)

    def of_type(self, kind: str, node_id: str | None = None) -> list[dict[str, Any]]:
        return [
            e for e in self.events
            if e["type"] == kind and (node_id is None or e.get("node_id") == node_id)
        ]

    def status_of(self, node_id: str) -> str | None:
        return self.result.records.get(node_id, {}).get("status")

    async def decide(self, decisions: dict[str, dict[str, Any]]) -> RunResult:
        """Resume with decisions keyed by gate id (looked up among the pending gates)."""
        by_gate = {g.gate_id: g.interrupt_id for g in self.result.gates}
        command = decision_command({by_gate[gate]: answer for gate, answer in decisions.items()})
        self.result = await drive(self.workflow, self.run_id, command, self.sink)
        return self.result


async def start_run(
    definition: dict[str, Any],
    registry: Registry,
    saver: BaseCheckpointSaver[Any],
    run_input: dict[str, Any] | None = None,
    *,
    run_id: str = "run-1",
    timeout: float | None = None,
) -> Run:
    """Validate, compile with `saver`, and drive the run until it stops."""
    workflow = compile_workflow(valid_spec(definition, registry), registry, saver)
    run = Run(workflow, run_id, RunResult("WAITING"))
    run.result = await drive(
        workflow, run_id, workflow.initial_state(run_input), run.sink, timeout=timeout
    )
    return run
