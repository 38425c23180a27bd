"""Drive a compiled workflow once (start, resume or continue) and say how it ended.

Both the CLI and the server use this: it streams the graph in `custom` + `updates` mode,
turns what it sees into API events (`node.started`, `node.completed`, ...), and after the
stream ends reads the checkpoint to tell whether the run completed, failed, or waits at gates.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from langchain_core.runnables import RunnableConfig
from langgraph.types import Command, StateSnapshot, StreamMode

from checkpoints import DURABILITY
from graphs.compile import OUTPUT_KEY, CompiledWorkflow
from graphs.errors import NodeFailed
from graphs.nodes.base import NODE_KEY_PREFIX
from graphs.nodes.human_gate import DECIDE_PREFIX

STREAM_MODES: list[StreamMode] = ["custom", "updates"]
EventSink = Callable[[dict[str, Any]], Awaitable[None]]
Outcome = Literal["COMPLETED", "FAILED", "WAITING"]


@dataclass
class PendingGate:
    """A human gate (or an agent's interrupt) that waits for a decision."""

    gate_id: str
    node_id: str
    interrupt_id: str
    payload: Any


@dataclass
class RunResult:
    status: Outcome
    output: Any = None
    error: dict[str, Any] | None = None
    retryable: bool = False
    gates: list[PendingGate] = field(default_factory=list)
    records: dict[str, dict[str, Any]] = field(default_factory=dict)


def run_config(run_id: str, checkpoint_id: str | None = None) -> RunnableConfig:
    """The config of a run's thread; with `checkpoint_id`, of that point in its history."""
    configurable: dict[str, Any] = {"thread_id": run_id}
    if checkpoint_id is not None:
        configurable["checkpoint_id"] = checkpoint_id
    return {"configurable": configurable, "recursion_limit": 10_000}


def decision_command(decisions: dict[str, Any]) -> Command[Any]:
    """Resume the given interrupts (interrupt id -> decision) and leave the others waiting."""
    return Command(resume=decisions)


def update_events(update: dict[str, Any]) -> list[dict[str, Any]]:
    """API events for one `updates` chunk: each node's new record says how it ended."""
    events: list[dict[str, Any]] = []
    for values in update.values():
        if not isinstance(values, dict):
            continue
        for key, record in values.items():
            if not key.startswith(NODE_KEY_PREFIX) or not isinstance(record, dict):
                continue
            node_id = key.removeprefix(NODE_KEY_PREFIX)
            event = record_event(node_id, record)
            if event is not None:
                events.append(event)
    return events


def record_event(node_id: str, record: dict[str, Any]) -> dict[str, Any] | None:
    status = record.get("status")
    if status == "COMPLETED":
        return {"type": "node.completed", "node_id": node_id, "output": record.get("output")}
    if status == "SKIPPED":
        return {"type": "node.skipped", "node_id": node_id}
    if status == "FAILED":
        return {"type": "node.failed", "node_id": node_id, "error": record.get("error")}
    if status == "WAITING":
        return {
            "type": "gate.waiting",
            "gate_id": node_id,
            "node_id": node_id,
            "payload": record.get("payload"),
        }
    return None


def has_work_left(snapshot: StateSnapshot) -> bool:
    """Whether driving the run on (with no input) would do anything: steps are due, or
    tasks whose writes were saved without their step's checkpoint. A process killed right
    after a task's writes leaves `next` empty while the graph has not moved on."""
    return bool(snapshot.next or snapshot.tasks)


def pending_gates(snapshot: StateSnapshot) -> list[PendingGate]:
    gates = []
    for task in snapshot.tasks:
        for item in task.interrupts:
            value = item.value
            node_id = task.name.removeprefix(DECIDE_PREFIX)
            gates.append(PendingGate(node_id, node_id, item.id, value))
    return gates


async def drive(
    workflow: CompiledWorkflow,
    run_id: str,
    payload: Any,
    on_event: EventSink,
    *,
    timeout: float | None = None,
    checkpoint_id: str | None = None,
) -> RunResult:
    """Run until the graph stops; `payload` is the initial state, None, or a Command.

    With `checkpoint_id` the run continues from that earlier checkpoint of its history.
    """
    config = run_config(run_id, checkpoint_id)
    # A run from its start sees every write in the stream: its final state is the input plus
    # the updates, so a completed run need not read its checkpoint back (`settle`).
    values = dict(payload) if isinstance(payload, dict) else None
    try:
        async with asyncio.timeout(timeout):
            stream = workflow.graph.astream(
                payload, config, stream_mode=STREAM_MODES, durability=DURABILITY
            )
            async for mode, chunk in stream:
                data = cast(dict[str, Any], chunk)
                if mode == "custom":
                    await on_event(data)
                    continue
                values = _merged(values, data)
                for event in update_events(data):
                    await on_event(event)
    except NodeFailed as exc:
        await on_event({"type": "node.failed", "node_id": exc.node_id, "error": exc.as_dict()})
        return RunResult("FAILED", error=exc.as_dict(), retryable=exc.retryable)
    except TimeoutError:
        limit = f"{timeout:g} s" if timeout is not None else "its time limit"
        error = {"code": "timeout", "message": f"the run took longer than {limit}", "node_id": None}
        return RunResult("FAILED", error=error)
    if values is not None and OUTPUT_KEY in values:  # the output node ran: nothing waits
        return outcome(workflow, values)
    return await settle(workflow, run_id)


def _merged(values: dict[str, Any] | None, update: dict[str, Any]) -> dict[str, Any] | None:
    """A state with one `updates` chunk applied; None once unknown (an interrupt)."""
    if values is None or "__interrupt__" in update:
        return None
    for written in update.values():
        if isinstance(written, dict):
            values.update(written)
    return values


async def settle(workflow: CompiledWorkflow, run_id: str) -> RunResult:
    """How a run stands according to its latest checkpoint."""
    snapshot = await workflow.graph.aget_state(run_config(run_id))
    gates = pending_gates(snapshot)
    if gates:
        return RunResult("WAITING", gates=gates, records=workflow.node_records(snapshot.values))
    return outcome(workflow, snapshot.values)


def outcome(workflow: CompiledWorkflow, values: dict[str, Any]) -> RunResult:
    """COMPLETED or FAILED, from a final state with no pending gate."""
    records = workflow.node_records(values)
    failed = [
        r["error"]
        for r in records.values()
        if r.get("status") == "FAILED" and not r.get("continued")
    ]
    output = values.get(OUTPUT_KEY)
    if failed:
        return RunResult("FAILED", output=output, error=failed[0], records=records)
    return RunResult("COMPLETED", output=output, records=records)
