"""The event writer stores what is waiting in one transaction: a write that fails must
fail alone, not take the other runs' events of its batch down with it."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from server_testkit import ProjectKeys, create_workflow
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.crud.runs import insert_run, load_run, new_run
from server.db.models import Run
from server.runtime.eventlog import EventLog, Guard


def inserting(run: Run) -> Guard:
    async def guard(session: AsyncSession) -> bool:
        await insert_run(session, run, ["a"])
        return True

    return guard


async def test_a_failing_write_does_not_sink_the_rest_of_its_batch(
    client: httpx.AsyncClient, app: FastAPI, project: ProjectKeys
) -> None:
    await create_workflow(client, project)
    log: EventLog = app.state.events
    good = new_run(project_id=project.pid, workflow_id="flow", workflow_version=1)
    bad = new_run(project_id=project.pid, workflow_id="flow", workflow_version=99)  # no such
    for run in (good, bad):
        log.new_run(run.run_id)

    # Posted with no await between them: the writer takes all three as one batch.
    first = log.post(good.run_id, "run.status", {"status": "RUNNING"}, inserting(good))
    failing = log.post(bad.run_id, "run.status", {"status": "RUNNING"}, inserting(bad))
    after = log.post(good.run_id, "node.started", {"node_id": "a"})

    stored = await first
    assert stored is not None and stored["seq"] == 1
    with pytest.raises(IntegrityError):
        await failing
    later = await after
    assert later is not None and later["seq"] == 2
    async with app.state.db.sessions() as session:
        assert await load_run(session, good.run_id) is not None
        assert await load_run(session, bad.run_id) is None
