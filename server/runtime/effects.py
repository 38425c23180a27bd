"""What each engine event changes in the database besides the event log (node states,
progress), and the gate rows that mirror a run's pending interrupts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from graphs.runner import PendingGate
from server.crud.gates import get_gate, open_gate
from server.crud.runs import set_node_state, update_run
from server.db.models import Gate, NodeState
from server.db.types import utcnow
from server.runtime.eventlog import Effect
from server.statuses import GateStatus, NodeStatus

DONE_NODE_STATUSES = (NodeStatus.COMPLETED, NodeStatus.FAILED, NodeStatus.SKIPPED)


def parse_ts(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


async def refresh_progress(session: AsyncSession, run_id: str) -> None:
    """progress = finished nodes / all nodes."""
    counts = dict(
        (
            await session.execute(
                select(NodeState.status, func.count())
                .where(NodeState.run_id == run_id)
                .group_by(NodeState.status)
            )
        ).all()
    )
    total = sum(counts.values())
    done = sum(counts.get(s.value, 0) for s in DONE_NODE_STATUSES)
    await update_run(session, run_id, progress=(done / total) if total else 0.0)


def node_effect(run_id: str, event: dict[str, Any]) -> Effect | None:
    """The node-state change an engine event implies, to store with the event."""
    kind, node_id = event.get("type"), event.get("node_id")
    if not isinstance(node_id, str):
        return None
    now = utcnow()

    async def effect(session: AsyncSession) -> None:
        if kind == "node.started":
            attempt = int(event.get("attempt") or 1)
            fields: dict[str, Any] = {"attempts": attempt, "error": None}
            if attempt == 1:
                fields["started_at"] = now
            await set_node_state(session, run_id, node_id, NodeStatus.RUNNING, **fields)
            await update_run(session, run_id, current_node=node_id)
        elif kind == "node.retrying":
            await set_node_state(
                session,
                run_id,
                node_id,
                NodeStatus.RETRYING,
                error={"code": "retrying", "message": event.get("error"), "node_id": node_id},
            )
        elif kind == "gate.waiting":
            await open_gate(session, run_id, str(event.get("gate_id")), node_id=node_id,
                            payload=event.get("payload"))
            await set_node_state(session, run_id, node_id, NodeStatus.WAITING, started_at=now)
        elif kind in ("node.completed", "node.skipped", "node.failed"):
            status = {
                "node.completed": NodeStatus.COMPLETED,
                "node.skipped": NodeStatus.SKIPPED,
                "node.failed": NodeStatus.FAILED,
            }[kind]
            await set_node_state(
                session,
                run_id,
                node_id,
                status,
                completed_at=now,
                output=event.get("output"),
                error=event.get("error"),
            )
            await refresh_progress(session, run_id)

    return (
        effect
        if kind
        in ("node.started", "node.retrying", "node.completed", "node.skipped", "node.failed")
        else None
    )


async def record_gates(session: AsyncSession, run_id: str, gates: list[PendingGate]) -> list[PendingGate]:
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
            row.status, row.decision, row.comment, row.data = GateStatus.WAITING.value, None, None, None
            row.decided_by, row.decided_at, row.created_at = None, None, utcnow()
            fresh.append(gate)
        if row is not None and row.status != GateStatus.WAITING:
            row.interrupt_id = gate.interrupt_id
            continue
        await open_gate(session, run_id, gate.gate_id, node_id=gate.node_id,
                        payload=gate.payload,
                        interrupt_id=gate.interrupt_id)
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
