"""Human gates of runs: opened by the executor, decided once by a person."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Gate
from server.db.types import utcnow
from server.statuses import GateStatus


async def open_gate(
    session: AsyncSession,
    run_id: str,
    gate_id: str,
    *,
    node_id: str,
    payload: Any = None,
    interrupt_id: str | None = None,
) -> Gate:
    """Record a gate as WAITING; idempotent, since a gate node runs again on every resume.

    A gate that was already decided is returned unchanged.
    """
    gate = await session.get(Gate, (run_id, gate_id))
    if gate is None:
        gate = Gate(
            run_id=run_id,
            gate_id=gate_id,
            node_id=node_id,
            status=GateStatus.WAITING.value,
            created_at=utcnow(),
        )
        session.add(gate)
    if gate.status == GateStatus.WAITING:
        gate.payload = payload
        gate.interrupt_id = interrupt_id
    await session.flush()
    return gate


async def get_gate(session: AsyncSession, run_id: str, gate_id: str) -> Gate | None:
    """One gate of a run, or None."""
    return await session.get(Gate, (run_id, gate_id), populate_existing=True)


async def list_gates(
    session: AsyncSession, run_id: str, status: GateStatus | None = None
) -> list[Gate]:
    """A run's gates in the order they opened (optionally only those with `status`)."""
    query = select(Gate).where(Gate.run_id == run_id)
    if status is not None:
        query = query.where(Gate.status == status.value)
    query = query.order_by(Gate.created_at, Gate.gate_id)
    return list((await session.scalars(query)).all())


async def decide_gate(
    session: AsyncSession,
    run_id: str,
    gate_id: str,
    *,
    approve: bool,
    decided_by: str,
    comment: str | None = None,
    data: dict[str, Any] | None = None,
) -> Gate | None:
    """Record a decision if the gate is still WAITING; None when it is not (or is unknown).

    The check and the write are one UPDATE, so of two racing decisions exactly one wins.
    """
    status = GateStatus.APPROVED if approve else GateStatus.REJECTED
    result = await session.execute(
        update(Gate)
        .where(
            Gate.run_id == run_id,
            Gate.gate_id == gate_id,
            Gate.status == GateStatus.WAITING.value,
        )
        .values(
            status=status.value,
            decision="approve" if approve else "reject",
            comment=comment,
            data=data,
            decided_by=decided_by,
            decided_at=utcnow(),
        )
        .returning(Gate)
        .execution_options(populate_existing=True)
    )
    gate = result.scalar_one_or_none()
    await session.flush()
    return gate
