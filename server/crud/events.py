"""The durable per-run event log that SSE streams replay; sequence numbers have no gaps."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Run, RunEvent
from server.db.types import iso, utcnow
from server.errors import NotFound


async def append_event(
    session: AsyncSession, run_id: str, type: str, data: dict[str, Any] | None = None
) -> RunEvent:
    """Add the run's next event (seq = previous + 1) and return it.

    The sequence number comes from an atomic increment of `runs.last_event_seq` in the
    same transaction: concurrent writers queue on the row, and a rolled-back event gives
    its number back, so the ids SSE clients see are strictly increasing with no gaps.
    """
    result = await session.execute(
        update(Run)
        .where(Run.run_id == run_id)
        .values(last_event_seq=Run.last_event_seq + 1)
        .returning(Run.last_event_seq)
        .execution_options(synchronize_session=False)
    )
    seq = result.scalar_one_or_none()
    if seq is None:
        raise NotFound(f"run '{run_id}' not found", details={"run_id": run_id})
    event = RunEvent(run_id=run_id, seq=seq, type=type, ts=utcnow(), data=dict(data or {}))
    session.add(event)
    await session.flush()
    return event


async def list_events(
    session: AsyncSession, run_id: str, after_seq: int = 0, limit: int = 1000
) -> list[RunEvent]:
    """Events with seq > `after_seq`, in order, at most `limit` of them."""
    query = (
        select(RunEvent)
        .where(RunEvent.run_id == run_id, RunEvent.seq > after_seq)
        .order_by(RunEvent.seq)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def last_status_event(session: AsyncSession, run_id: str, up_to_seq: int) -> RunEvent | None:
    """The run's latest `run.status` event with seq <= `up_to_seq`, or None."""
    query = (
        select(RunEvent)
        .where(RunEvent.run_id == run_id, RunEvent.type == "run.status", RunEvent.seq <= up_to_seq)
        .order_by(RunEvent.seq.desc())
        .limit(1)
    )
    return (await session.scalars(query)).first()


def event_payload(event: RunEvent) -> dict[str, Any]:
    """The event as API.md shows it: `{"run_id", "seq", "type", "ts", ...data}`."""
    head = {"run_id": event.run_id, "seq": event.seq, "type": event.type, "ts": iso(event.ts)}
    return {**head, **{k: v for k, v in event.data.items() if k not in head}}
