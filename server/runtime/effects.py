"""What each engine event changes in the database besides the event log (node states,
progress), and the gate rows that mirror a run's pending interrupts."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, cast

from sqlalchemy import Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graphs.runner import PendingGate
from server.crud.gates import get_gate, open_gate
from server.crud.runs import set_node_state, transition_run
from server.db.models import Gate, NodeState
from server.db.types import utcnow
from server.runtime.eventlog import EventLog
from server.statuses import GateStatus, NodeStatus, RunStatus

_FINISHED = {
    "node.completed": NodeStatus.COMPLETED,
    "node.skipped": NodeStatus.SKIPPED,
    "node.failed": NodeStatus.FAILED,
}
# Core tables: executemany UPDATEs without ORM bookkeeping.
_NODES = cast(Table, NodeState.__table__)


def node_change(event: dict[str, Any]) -> dict[str, Any] | None:
    """The node-state columns an event sets (None: it sets none)."""
    kind, attempt = event.get("type"), event.get("attempt")
    now = utcnow()
    if kind == "node.started":
        change: dict[str, Any] = {
            "status": NodeStatus.RUNNING.value,
            "attempts": int(attempt or 1),
            "error": None,
        }
        if int(attempt or 1) == 1:
            change["started_at"] = now
        return change
    if kind == "node.retrying":
        return {
            "status": NodeStatus.RETRYING.value,
            "error": {
                "code": "retrying",
                "message": event.get("error"),
                "node_id": event.get("node_id"),
            },
        }
    if kind == "gate.waiting":
        return {"status": NodeStatus.WAITING.value, "started_at": now}
    if kind in _FINISHED:
        return {
            "status": _FINISHED[kind].value,
            "completed_at": now,
            "output": event.get("output"),
            "error": event.get("error"),
        }
    return None


async def apply_events(session: AsyncSession, events: list[dict[str, Any]]) -> None:
    """Batch hook of the event log: node states and opened gates (the run's progress comes
    with its node events as `run_fields`, counted by the pass).

    Changes with the same columns go in one executemany UPDATE, so a batch costs a few
    statements however many events it holds.
    """
    changes: dict[tuple[str, str], dict[str, Any]] = {}
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for event in events:
        node_id = event.get("node_id")
        change = node_change(event) if isinstance(node_id, str) else None
        if change is None:
            continue
        # A node's later events win. Merge before grouping: the grouped UPDATEs run
        # group by group, which would otherwise apply a start after the end it preceded.
        key = (str(event["run_id"]), str(node_id))
        changes[key] = {**changes.get(key, {}), **change}
        if event["type"] == "gate.waiting":
            await open_gate(
                session,
                event["run_id"],
                str(event.get("gate_id")),
                node_id=str(node_id),
                payload=event.get("payload"),
            )
    for (run_id, node_id), change in changes.items():
        groups.setdefault(tuple(sorted(change)), []).append({**change, "r": run_id, "n": node_id})
    for columns, params in groups.items():
        stmt = _NODES.update().where(
            _NODES.c.run_id == bindparam("r"), _NODES.c.node_id == bindparam("n")
        )
        await session.execute(stmt.values({c: bindparam(c) for c in columns}), params)


async def record_gates(
    session: AsyncSession, run_id: str, gates: list[PendingGate]
) -> list[PendingGate]:
    """Tie pending interrupts to their gate rows; returns the gates not announced before.

    A gate node announces itself (a WAITING row) before it interrupts, and may have been
    decided already: the decision stays and the interrupt id is filled in. A row decided
    for an earlier interrupt of the same node (an agent that asks twice) opens again.
    """
    fresh = []
    for gate in gates:
        row = await get_gate(session, run_id, gate.gate_id)
        if row is None:
            fresh.append(gate)
        elif row.interrupt_id not in (None, gate.interrupt_id) and row.status != GateStatus.WAITING:
            row.status, row.decision, row.comment, row.data = (
                GateStatus.WAITING.value,
                None,
                None,
                None,
            )
            row.decided_by, row.decided_at, row.created_at = None, None, utcnow()
            fresh.append(gate)
        if row is not None and row.status != GateStatus.WAITING:
            row.interrupt_id = gate.interrupt_id
            continue
        await open_gate(
            session,
            run_id,
            gate.gate_id,
            node_id=gate.node_id,
            payload=gate.payload,
            interrupt_id=gate.interrupt_id,
        )
        await set_node_state(session, run_id, gate.node_id, NodeStatus.WAITING)
    return fresh


async def decided_resumes(
    session: AsyncSession, run_id: str, gates: list[PendingGate]
) -> dict[str, Any]:
    """interrupt id -> decision, for pending interrupts whose gate has been decided."""
    by_interrupt = {g.interrupt_id: g for g in gates}
    rows = (
        await session.scalars(
            select(Gate).where(Gate.run_id == run_id, Gate.status != GateStatus.WAITING.value)
        )
    ).all()
    return {
        row.interrupt_id: {
            "decision": row.decision,
            "comment": row.comment,
            "data": row.data,
            "decided_by": row.decided_by,
        }
        for row in rows
        if row.interrupt_id in by_interrupt
    }


async def stop_in_flight(session: AsyncSession, run_id: str, to: NodeStatus) -> None:
    """Nodes that were working when a run stopped: CANCELLED, or PENDING to run again."""
    await session.execute(
        update(NodeState)
        .where(
            NodeState.run_id == run_id,
            NodeState.status.in_([NodeStatus.RUNNING.value, NodeStatus.RETRYING.value]),
        )
        .values(status=to.value)
    )


def total_usage(records: dict[str, dict[str, Any]]) -> dict[str, Any]:
    usage = {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
    for record in records.values():
        for key in ("input_tokens", "output_tokens"):
            usage[key] += int((record.get("usage") or {}).get(key, 0))
    return usage


async def change_status(
    events: EventLog,
    run_id: str,
    to: RunStatus,
    from_: Iterable[RunStatus],
    extra: dict[str, Any] | None = None,
    **fields: Any,
) -> bool:
    """Move a run to `to` if it is in one of `from_`, and store its `run.status` event in the
    same transaction: a crash keeps both or neither. Returns whether this change won."""
    allowed = list(from_)

    async def guard(session: AsyncSession) -> bool:
        return await transition_run(session, run_id, to, from_statuses=allowed, **fields)

    data = {"status": to.value, **(extra or {})}
    return await events.append_if(guard, run_id, "run.status", data)
