"""Health and Prometheus metrics."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from server_testkit import ProjectKeys, create_run, create_workflow

from server.metrics import Gauge


async def test_healthz_needs_no_token(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_metrics_exposition(
    client: httpx.AsyncClient, app: FastAPI, project: ProjectKeys
) -> None:
    await create_workflow(client, project)
    async with app.state.db.sessions() as session:
        await create_run(session, project_id=project.pid, workflow_id="flow", workflow_version=1)
        await session.commit()
    await client.get("/nowhere")
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert "# TYPE graphyard_http_requests_total counter" in lines
    assert 'graphyard_http_requests_total{method="GET",status="404"} 1' in lines
    assert 'graphyard_runs{status="PENDING"} 1' in lines
    assert 'graphyard_runs{status="COMPLETED"} 0' in lines
    assert "graphyard_projects 2" in lines  # default and acme
    assert "graphyard_workflows 1" in lines


async def test_metric_sources_hook(client: httpx.AsyncClient, app: FastAPI) -> None:
    slots = Gauge("graphyard_executor_slots_in_use", "Execution slots in use.")
    slots.set(3)
    app.state.metric_sources.append(lambda: [slots])
    response = await client.get("/metrics")
    assert "graphyard_executor_slots_in_use 3" in response.text.splitlines()
