"""Runs and their node states."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import NodeState, Run, RunCount
from server.db.types import utcnow
from server.errors import NotFound
from server.statuses import NodeStatus, RunStatus

EMPTY_USAGE: dict[str, Any] = {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
_RUNS = cast(Table, Run.__table__)
_NODES = cast(Table, NodeState.__table__)


def new_run(
    *,
    project_id: str,
    workflow_id: str,
    workflow_version: int,
    input: dict[str, Any] | None = None,
    status: RunStatus = RunStatus.PENDING,
) -> Run:
    """A new run pinned to one workflow version, every column set (not stored yet)."""
    return Run(
        run_id=str(uuid.uuid4()),
        project_id=project_id,
        workflow_id=workflow_id,
        workflow_version=workflow_version,
        status=status.value,
        input=dict(input or {}),
        usage=dict(EMPTY_USAGE),
        progress=0.0,
        retry_count=0,
        last_event_seq=0,
        created_at=utcnow(),
    )


def run_row(run: Run) -> dict[str, Any]:
    """The run's columns, for a Core INSERT (None columns take their defaults)."""
    return {c.key: v for c in _RUNS.columns if (v := getattr(run, c.key)) is not None}


async def insert_run(session: AsyncSession, run: Run, node_ids: Sequence[str]) -> None:
    """Store a new run and a PENDING state for each of its nodes: two INSERTs, no ORM."""
    await session.execute(_RUNS.insert(), [run_row(run)])
    if node_ids:
        row = {"run_id": run.run_id, "status": NodeStatus.PENDING.value, "attempts": 0}
        await session.execute(_NODES.insert(), [{**row, "node_id": n} for n in node_ids])


async def get_run(session: AsyncSession, project_id: str, run_id: str) -> Run:
    """A run of this project; NotFound otherwise (also for another project's run)."""
    run = await session.get(Run, run_id)
    if run is None or run.project_id != project_id:
        raise NotFound(f"run '{run_id}' not found", details={"run_id": run_id})
    return run


async def load_run(session: AsyncSession, run_id: str) -> Run | None:
    """A run by id in any project: for the executor, never for a route."""
    return await session.get(Run, run_id, populate_existing=True)


async def list_runs(
    session: AsyncSession,
    project_id: str,
    *,
    workflow_id: str | None = None,
    status: RunStatus | None = None,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Run], int]:
    """A page of the project's runs, newest first, and the total that match."""
    conditions = [Run.project_id == project_id]
    if workflow_id is not None:
        conditions.append(Run.workflow_id == workflow_id)
    if status is not None:
        conditions.append(Run.status == status.value)
    total = await _count_runs(session, project_id, workflow_id, status, conditions)
    query = (
        select(Run)
        .where(*conditions)
        .order_by(Run.created_at.desc(), Run.run_id)
        .limit(limit)
        .offset(offset)
    )
    return list((await session.scalars(query)).all()), total


def _sqlite(session: AsyncSession) -> bool:
    """SQLite, where triggers keep `run_counts` (migration 0002)."""
    return session.bind is not None and session.bind.dialect.name == "sqlite"


async def _count_runs(
    session: AsyncSession,
    project_id: str,
    workflow_id: str | None,
    status: RunStatus | None,
    conditions: list[Any],
) -> int:
    """How many runs match; on SQLite from the trigger-kept `run_counts` (a few rows)."""
    if not _sqlite(session):
        return int(
            await session.scalar(select(func.count()).select_from(Run).where(*conditions)) or 0
        )
    query = select(func.coalesce(func.sum(RunCount.n), 0)).where(RunCount.project_id == project_id)
    if workflow_id is not None:
        query = query.where(RunCount.workflow_id == workflow_id)
    if status is not None:
        query = query.where(RunCount.status == status.value)
    return int(await session.scalar(query) or 0)


async def transition_run(
    session: AsyncSession,
    run_id: str,
    to_status: RunStatus,
    *,
    from_statuses: Iterable[RunStatus] | None = None,
    **fields: Any,
) -> bool:
    """Set a run's status (and other columns) only if it is in one of `from_statuses`.

    The check and the write are one UPDATE, so of two racing transitions exactly one wins;
    returns whether this one did.
    """
    query = _RUNS.update().where(_RUNS.c.run_id == run_id)
    if from_statuses is not None:
        query = query.where(_RUNS.c.status.in_([s.value for s in from_statuses]))
    # Core, not ORM: callers read the run afresh (`load_run`), nothing to synchronize.
    result = await session.execute(
        query.values(status=to_status.value, **fields).returning(_RUNS.c.run_id)
    )
    return result.scalar_one_or_none() is not None


async def update_run(session: AsyncSession, run_id: str, **fields: Any) -> None:
    """Set columns of a run (progress, current_node, usage, checkpoint_id ...)."""
    await session.execute(
        update(Run)
        .where(Run.run_id == run_id)
        .values(**fields)
        .execution_options(synchronize_session="fetch")
    )
    await session.flush()


async def runs_with_status(session: AsyncSession, statuses: Iterable[RunStatus]) -> list[Run]:
    """Runs in any project with one of these statuses, oldest first (recovery on start)."""
    query = (
        select(Run)
        .where(Run.status.in_([s.value for s in statuses]))
        .order_by(Run.created_at, Run.run_id)
    )
    return list((await session.scalars(query)).all())


async def due_retries(session: AsyncSession, now: datetime | None = None) -> list[Run]:
    """RETRY_SCHEDULED runs whose `next_retry_at` has come."""
    query = (
        select(Run)
        .where(
            Run.status == RunStatus.RETRY_SCHEDULED.value,
            Run.next_retry_at <= (now or utcnow()),
        )
        .order_by(Run.next_retry_at)
    )
    return list((await session.scalars(query)).all())


async def count_runs_by_status(session: AsyncSession) -> dict[str, int]:
    """How many runs are in each status, across projects (for /metrics)."""
    if _sqlite(session):  # the trigger-kept counters: a few rows, not every run
        query = select(RunCount.status, func.sum(RunCount.n)).group_by(RunCount.status)
    else:
        query = select(Run.status, func.count()).group_by(Run.status)
    rows = await session.execute(query)
    return {status: int(count) for status, count in rows.all() if count}


async def init_node_states(session: AsyncSession, run_id: str, node_ids: Sequence[str]) -> None:
    """Create a PENDING state for every node that has none yet."""
    existing = set(
        (await session.scalars(select(NodeState.node_id).where(NodeState.run_id == run_id))).all()
    )
    for node_id in node_ids:
        if node_id not in existing:
            session.add(NodeState(run_id=run_id, node_id=node_id, status=NodeStatus.PENDING))
    await session.flush()


async def set_node_state(
    session: AsyncSession, run_id: str, node_id: str, status: NodeStatus, **fields: Any
) -> NodeState:
    """Create or update one node's state (attempts, started_at, output, error ...)."""
    state = await session.get(NodeState, (run_id, node_id))
    if state is None:
        state = NodeState(run_id=run_id, node_id=node_id, status=status.value, attempts=0)
        session.add(state)
    state.status = status.value
    for name, value in fields.items():
        setattr(state, name, value)
    await session.flush()
    return state


async def list_node_states(session: AsyncSession, run_id: str) -> list[NodeState]:
    """The run's node states (in no particular order; order them by the workflow)."""
    query = select(NodeState).where(NodeState.run_id == run_id)
    return list((await session.scalars(query)).all())
