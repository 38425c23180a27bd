"""Runs: create, start, watch, cancel, pause, resume, retry, history (API.md section 3)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from graphs.compile import input_errors
from graphs.runner import run_config
from server.auth import Operator, Viewer
from server.crud.runs import get_run, insert_run, list_runs, new_run, update_run
from server.crud.workflows import resolve_version
from server.db.models import Run
from server.db.types import utcnow
from server.deps import SessionDep
from server.errors import BadRequest, Conflict, Invalid, NotFound
from server.runtime.deps import ExecutorDep
from server.runtime.views import run_out, run_status_out
from server.schemas.common import MAX_INT_PARAM, error_responses
from server.schemas.runs import (
    CheckpointList,
    CheckpointOut,
    ExecuteRequest,
    ResumeRequest,
    RunAction,
    RunCreate,
    RunList,
    RunOut,
    RunStatusOut,
)
from server.statuses import TERMINAL_RUN_STATUSES, RunStatus


async def _released_run(session: SessionDep, pid: str, rid: str) -> Run:
    """The run, with the request's database connection given back first: the executor
    opens sessions of its own, and holding one across them could exhaust the pool."""
    run = await get_run(session, pid, rid)
    await session.commit()
    return run


router = APIRouter(prefix="/api/projects/{pid}/workflows/runs", tags=["runs"])


def _check_input(spec_input_errors: list[str]) -> None:
    if spec_input_errors:
        raise Invalid(
            f"the run input does not match the workflow's input_schema: {spec_input_errors[0]}",
            code="invalid_input",
            details={"errors": spec_input_errors},
        )


@router.post("", status_code=201, responses=error_responses(400, 403, 404, 413))
async def create(
    pid: str, body: RunCreate, session: SessionDep, executor: ExecutorDep, _: Operator
) -> RunOut:
    """Create a run of a workflow version; `execute` starts it, `wait` waits for it to settle."""
    version = await resolve_version(session, pid, body.workflow_id, body.version)
    workflow = await executor.passes.compiled(session, pid, body.workflow_id, version)
    _check_input(input_errors(workflow.spec, body.input))
    run = new_run(
        project_id=pid, workflow_id=body.workflow_id, workflow_version=version, input=body.input
    )
    node_ids = [n.id for n in workflow.spec.nodes]
    if not body.execute:
        await insert_run(session, run, node_ids)
        await session.commit()
        executor.events.new_run(run.run_id)
        return RunOut.model_validate(run, from_attributes=True)
    await session.commit()  # give the connection back: the event writer stores the run
    status = await executor.create_started(run, node_ids)
    if not body.wait:
        return RunOut.model_validate(run, from_attributes=True)
    await executor.wait_settled(run.run_id, body.timeout_seconds, status)
    return await run_out(session, pid, run.run_id)


@router.get("", responses=error_responses(403, 404))
async def list_(
    pid: str,
    session: SessionDep,
    _: Viewer,
    workflow_id: Annotated[str | None, Query(max_length=64)] = None,
    status: RunStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT_PARAM)] = 0,
) -> RunList:
    """Execution history: the project's runs, newest first."""
    runs, total = await list_runs(
        session, pid, workflow_id=workflow_id, status=status, limit=limit, offset=offset
    )
    return RunList(
        items=[RunOut.model_validate(r, from_attributes=True) for r in runs], total=total
    )


@router.get("/{rid}", responses=error_responses(403, 404))
async def get(pid: str, rid: str, session: SessionDep, _: Viewer) -> RunOut:
    """One run."""
    return await run_out(session, pid, rid)


@router.get("/{rid}/status", responses=error_responses(403, 404))
async def status(
    pid: str, rid: str, session: SessionDep, executor: ExecutorDep, _: Viewer
) -> RunStatusOut:
    """Status, progress, the current node, an estimate of completion, and every node's state."""
    run = await get_run(session, pid, rid)
    workflow = await executor.passes.workflow(session, run)
    return await run_status_out(session, run, [n.id for n in workflow.spec.nodes])


@router.post(
    "/{rid}/execute",
    status_code=202,
    responses=error_responses(400, 403, 404, 409, 413),
    response_model_exclude_none=True,
)
async def execute(
    pid: str,
    rid: str,
    session: SessionDep,
    executor: ExecutorDep,
    _: Operator,
    body: ExecuteRequest | None = None,
) -> RunAction:
    """Start a PENDING run (RUNNING, or QUEUED when every slot is taken)."""
    run = await _released_run(session, pid, rid)
    if run.status in TERMINAL_RUN_STATUSES:
        raise Conflict(f"run is already {run.status}")
    if run.status != RunStatus.PENDING:
        raise BadRequest(f"run is {run.status}; only a PENDING run can be executed")
    if body is not None and body.input_data is not None:
        workflow = await executor.passes.workflow(session, run)
        _check_input(input_errors(workflow.spec, body.input_data))
        await update_run(session, rid, input=body.input_data)
        await session.commit()
    new = await executor.start(rid, [RunStatus.PENDING])
    if new is None:
        raise BadRequest("run was started by another request")
    return RunAction(run_id=rid, status=new, started_at=utcnow(), message=f"run is {new}")


@router.post(
    "/{rid}/cancel", responses=error_responses(400, 403, 404), response_model_exclude_none=True
)
async def cancel(
    pid: str, rid: str, session: SessionDep, executor: ExecutorDep, _: Operator
) -> RunAction:
    """Cancel the run: in-flight nodes stop within a second and no node starts afterwards."""
    run = await _released_run(session, pid, rid)
    if not await executor.cancel(rid):
        raise BadRequest(f"run is already {run.status}")
    return RunAction(
        run_id=rid, status=RunStatus.CANCELLED, cancelled_at=utcnow(), message="run cancelled"
    )


@router.post(
    "/{rid}/pause", responses=error_responses(400, 403, 404), response_model_exclude_none=True
)
async def pause(
    pid: str, rid: str, session: SessionDep, executor: ExecutorDep, _: Operator
) -> RunAction:
    """Pause a RUNNING or QUEUED run; in-flight nodes run again on resume, finished ones never."""
    run = await _released_run(session, pid, rid)
    checkpoint_id = await executor.pause(rid)
    if checkpoint_id is False:
        raise BadRequest(f"run is {run.status}; only a RUNNING or QUEUED run can be paused")
    return RunAction(
        run_id=rid,
        status=RunStatus.PAUSED,
        paused_at=utcnow(),
        checkpoint_id=checkpoint_id or None,
        message="run paused",
    )


async def _own_checkpoint(executor: ExecutorDep, rid: str, checkpoint_id: str) -> None:
    saver = executor.checkpointer
    if await saver.aget_tuple(run_config(rid, checkpoint_id)) is None:
        raise NotFound(
            f"checkpoint '{checkpoint_id}' is not in this run's history",
            details={"checkpoint_id": checkpoint_id},
        )


@router.post(
    "/{rid}/resume",
    status_code=202,
    responses=error_responses(400, 403, 404, 413),
    response_model_exclude_none=True,
)
async def resume(
    pid: str,
    rid: str,
    session: SessionDep,
    executor: ExecutorDep,
    _: Operator,
    body: ResumeRequest | None = None,
) -> RunAction:
    """Resume a PAUSED run from its last checkpoint, or from `checkpoint_id` in its history."""
    run = await _released_run(session, pid, rid)
    if run.status != RunStatus.PAUSED:
        raise BadRequest(f"run is {run.status}; only a PAUSED run can be resumed")
    checkpoint_id = body.checkpoint_id if body else None
    if checkpoint_id is not None:
        await _own_checkpoint(executor, rid, checkpoint_id)
    new = await executor.start(rid, [RunStatus.PAUSED], checkpoint_id=checkpoint_id, paused_at=None)
    if new is None:
        raise BadRequest("run was resumed by another request")
    return RunAction(run_id=rid, status=new, resumed_at=utcnow(), message=f"run is {new}")


@router.post(
    "/{rid}/retry",
    status_code=202,
    responses=error_responses(400, 403, 404),
    response_model_exclude_none=True,
)
async def retry(
    pid: str, rid: str, session: SessionDep, executor: ExecutorDep, _: Operator
) -> RunAction:
    """Continue a FAILED or RETRY_SCHEDULED run from its last checkpoint."""
    run = await _released_run(session, pid, rid)
    new = await executor.start(
        rid,
        [RunStatus.FAILED, RunStatus.RETRY_SCHEDULED],
        error=None,
        finished_at=None,
        next_retry_at=None,
    )
    if new is None:
        raise BadRequest(
            f"run is {run.status}; only a FAILED or RETRY_SCHEDULED run can be retried"
        )
    return RunAction(run_id=rid, status=new, started_at=utcnow(), message=f"run is {new}")


@router.get("/{rid}/checkpoints", responses=error_responses(403, 404))
async def checkpoints(
    pid: str, rid: str, session: SessionDep, executor: ExecutorDep, _: Viewer
) -> CheckpointList:
    """The run's checkpoints, newest first; any of them can be given to resume."""
    run = await get_run(session, pid, rid)
    workflow = await executor.passes.workflow(session, run)
    items: list[CheckpointOut] = []
    async for snap in workflow.graph.aget_state_history(run_config(rid)):
        meta: dict[str, Any] = dict(snap.metadata or {})
        items.append(
            CheckpointOut(
                checkpoint_id=snap.config["configurable"]["checkpoint_id"],
                step=meta.get("step"),
                created_at=snap.created_at,
                next=list(snap.next),
            )
        )
    return CheckpointList(items=items)
