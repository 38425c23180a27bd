"""Races inside the executor that requests over HTTP can only hit by chance."""

from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
from server_testkit import ProjectKeys, create_workflow

from server.crud.runs import load_run, new_run
from server.runtime.executor import Executor
from server.statuses import RunStatus


async def test_a_run_cancelled_as_soon_as_it_is_stored_runs_no_node(
    client: httpx.AsyncClient, app: FastAPI, project: ProjectKeys
) -> None:
    """The run's first event is out (so a client can know the run), and a cancel comes
    before the create request has resumed: the run must stop before its first node."""
    await create_workflow(client, project)
    executor: Executor = app.state.executor
    async with app.state.db.sessions() as session:
        workflow = await executor.passes.compiled(session, project.pid, "flow", 1)
    run = new_run(project_id=project.pid, workflow_id="flow", workflow_version=1)
    sub = executor.events.subscribe(run.run_id)

    creating = asyncio.create_task(
        executor.create_started(run, [n.id for n in workflow.spec.nodes])
    )
    first = await sub.queue.get()  # no wait_for: its extra task would let the create go on
    assert first["type"] == "run.status" and first["status"] == "RUNNING"
    assert await executor.cancel(run.run_id)
    assert await creating == RunStatus.RUNNING
    await asyncio.sleep(0.3)  # what a run that went on would do meanwhile

    later = []
    while not sub.queue.empty():
        later.append(sub.queue.get_nowait())
    assert [(e["type"], e.get("status")) for e in later] == [("run.status", "CANCELLED")]
    async with app.state.db.sessions() as session:
        stored = await load_run(session, run.run_id)
    assert stored is not None and stored.status == RunStatus.CANCELLED
