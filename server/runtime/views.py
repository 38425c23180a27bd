"""Build the API's run views from rows: the run object and the status with node states."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from server.crud.runs import get_run, list_node_states
from server.db.models import NodeState, Run
from server.schemas.runs import NodeStateOut, RunOut, RunStatusOut
from server.statuses import TERMINAL_RUN_STATUSES, NodeStatus, RunStatus

_BUSY = (NodeStatus.RUNNING.value, NodeStatus.RETRYING.value, NodeStatus.WAITING.value)
_NODE_PROGRESS = {NodeStatus.COMPLETED: 1.0, NodeStatus.SKIPPED: 1.0, NodeStatus.FAILED: 1.0}
ESTIMATE_SAMPLE = 20


async def run_out(session: AsyncSession, project_id: str, run_id: str) -> RunOut:
    session.expire_all()  # the executor changed the row through other sessions
    run = await get_run(session, project_id, run_id)
    return RunOut.model_validate(run, from_attributes=True)


async def estimate_completion(session: AsyncSession, run: Run) -> datetime | None:
    """started_at + the mean duration of the workflow's latest completed runs."""
    if run.started_at is None or RunStatus(run.status) in TERMINAL_RUN_STATUSES:
        return None
    rows = (
        await session.execute(
            select(Run.started_at, Run.finished_at)
            .where(
                Run.project_id == run.project_id,
                Run.workflow_id == run.workflow_id,
                Run.status == RunStatus.COMPLETED.value,
                Run.started_at.is_not(None),
            )
            .order_by(Run.finished_at.desc())
            .limit(ESTIMATE_SAMPLE)
        )
    ).all()
    durations = [(f - s).total_seconds() for s, f in rows if s is not None and f is not None]
    if not durations:
        return None
    return run.started_at + timedelta(seconds=sum(durations) / len(durations))


def current_node(states: list[NodeState]) -> str | None:
    """The node being worked on (or waited on); else the one that started last."""
    started = sorted((s for s in states if s.started_at), key=lambda s: s.started_at or 0)
    busy = [s for s in started if s.status in _BUSY]
    chosen = busy or started
    return chosen[-1].node_id if chosen else None


async def run_status_out(session: AsyncSession, run: Run, node_ids: list[str]) -> RunStatusOut:
    """The status view, one node state per node of the workflow in definition order."""
    await session.refresh(run)
    states = {s.node_id: s for s in await list_node_states(session, run.run_id)}
    nodes = []
    for node_id in node_ids:
        state = states.get(node_id)
        status = NodeStatus(state.status) if state else NodeStatus.PENDING
        nodes.append(
            NodeStateOut(
                node_id=node_id,
                status=status,
                progress=_NODE_PROGRESS.get(status, 0.0),
                attempts=state.attempts if state else 0,
                started_at=state.started_at if state else None,
                completed_at=state.completed_at if state else None,
                error=state.error
                if state and state.error and status == NodeStatus.FAILED
                else None,
            )
        )
    return RunStatusOut(
        run_id=run.run_id,
        status=RunStatus(run.status),
        progress=run.progress,
        current_node=current_node(list(states.values())),
        started_at=run.started_at,
        estimated_completion=await estimate_completion(session, run),
        node_states=nodes,
    )
