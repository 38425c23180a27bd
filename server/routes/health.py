"""Liveness and Prometheus metrics; neither needs a token."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

from server.crud.projects import count_projects
from server.crud.runs import count_runs_by_status
from server.crud.workflows import count_workflows
from server.deps import SessionDep
from server.metrics import Gauge, Metrics
from server.statuses import RunStatus

router = APIRouter(tags=["operations"])


class Health(BaseModel):
    """The server is up."""

    status: str = "ok"


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """Liveness probe; no authentication."""
    return Health()


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def metrics(request: Request, session: SessionDep) -> PlainTextResponse:
    """Prometheus metrics: HTTP requests, runs by status, projects and workflows."""
    runs = Gauge("graphyard_runs", "Runs by status, across projects.")
    by_status = await count_runs_by_status(session)
    for status in RunStatus:
        runs.set(by_status.get(status.value, 0), status=status.value)
    projects = Gauge("graphyard_projects", "Projects.")
    projects.set(await count_projects(session))
    workflows = Gauge("graphyard_workflows", "Workflows that are not deleted.")
    workflows.set(await count_workflows(session))
    gauges = [runs, projects, workflows, *_extra_gauges(request)]
    registry: Metrics = request.app.state.metrics
    return PlainTextResponse(
        registry.render(gauges), media_type="text/plain; version=0.0.4; charset=utf-8"
    )


def _extra_gauges(request: Request) -> list[Gauge]:
    # Hook for the executor: app.state.metric_sources is a list of callables returning gauges
    # (slots in use, queue length ...), so /metrics needs no import of server.runtime.
    sources = getattr(request.app.state, "metric_sources", [])
    return [gauge for source in sources for gauge in source()]
