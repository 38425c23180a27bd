"""Every project route: role boundaries (403), other projects' keys (404), success at the role."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from server_testkit import ROLES, Headers, ProjectKeys, create_workflow, simple_definition


@dataclass(frozen=True)
class Route:
    """One project-scoped route, the least role that may call it and a body that works."""

    method: str
    path: str
    role: str
    body: str | None = None  # "key" | "definition" | "update"

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


ROUTES = [
    Route("POST", "/api-keys", "admin", "key"),
    Route("GET", "/api-keys", "admin"),
    Route("DELETE", "/api-keys/{key_id}", "admin"),
    Route("POST", "/workflows", "editor", "definition"),
    Route("GET", "/workflows", "viewer"),
    Route("POST", "/workflows/validate", "viewer", "definition"),
    Route("GET", "/workflows/{wid}", "viewer"),
    Route("PUT", "/workflows/{wid}", "editor", "update"),
    Route("DELETE", "/workflows/{wid}", "editor"),
    Route("GET", "/workflows/{wid}/versions", "viewer"),
    Route("GET", "/workflows/{wid}/graph", "viewer"),
]


def _body(route: Route) -> dict[str, Any] | None:
    if route.body == "key":
        return {"name": "k", "role": "viewer"}
    if route.body == "definition":
        return simple_definition("fresh")
    if route.body == "update":
        return simple_definition("flow", name="Updated")
    return None


async def _call(
    client: httpx.AsyncClient, project: ProjectKeys, route: Route, headers: Headers
) -> httpx.Response:
    """Call `route` on `project` with fresh resources (a workflow `flow`, a spare key)."""
    spare = await client.post(
        project.url("/api-keys"),
        json={"name": "spare", "role": "viewer"},
        headers=project.headers("admin"),
    )
    existing = await client.get(project.url("/workflows/flow"), headers=project.headers("admin"))
    if existing.status_code == 404:
        await create_workflow(client, project, simple_definition("flow"))
    path = route.path.format(wid="flow", key_id=spare.json()["id"])
    return await client.request(route.method, project.url(path), json=_body(route), headers=headers)


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_least_role_succeeds(
    client: httpx.AsyncClient, project: ProjectKeys, route: Route
) -> None:
    response = await _call(client, project, route, project.headers(route.role))
    assert 200 <= response.status_code < 300, response.text


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_admin_token_succeeds(
    client: httpx.AsyncClient, project: ProjectKeys, admin_headers: Headers, route: Route
) -> None:
    response = await _call(client, project, route, admin_headers)
    assert 200 <= response.status_code < 300, response.text


@pytest.mark.parametrize("route", [r for r in ROUTES if r.role != "viewer"], ids=str)
async def test_every_lesser_role_is_403(
    client: httpx.AsyncClient, project: ProjectKeys, route: Route
) -> None:
    for role in ROLES[: ROLES.index(route.role)]:
        response = await _call(client, project, route, project.headers(role))
        assert response.status_code == 403, (role, response.text)
        assert response.json()["error"] == "forbidden"


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_other_projects_key_is_404(
    client: httpx.AsyncClient, project: ProjectKeys, other_project: ProjectKeys, route: Route
) -> None:
    for role in ROLES:
        response = await _call(client, project, route, other_project.headers(role))
        assert response.status_code == 404, (role, response.text)
        assert response.json()["error"] == "not_found"


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_unknown_project_is_404_for_key_and_admin(
    client: httpx.AsyncClient, project: ProjectKeys, admin_headers: Headers, route: Route
) -> None:
    path = "/api/projects/ghost" + route.path.format(wid="flow", key_id="abc")
    for headers in (admin_headers, project.headers("admin")):
        response = await client.request(route.method, path, json=_body(route), headers=headers)
        assert response.status_code == 404, response.text
    # A key's 404 for a project that exists and for one that does not look the same.
    missing = await client.request(
        route.method, path, json=_body(route), headers=project.headers("admin")
    )
    foreign = await client.request(
        route.method,
        "/api/projects/default" + route.path.format(wid="flow", key_id="abc"),
        json=_body(route),
        headers=project.headers("admin"),
    )
    assert missing.json()["error"] == foreign.json()["error"] == "not_found"
    assert missing.json()["message"].replace("ghost", "X") == foreign.json()["message"].replace(
        "default", "X"
    )


@pytest.mark.parametrize("route", ROUTES, ids=str)
async def test_no_token_is_401(
    client: httpx.AsyncClient, project: ProjectKeys, route: Route
) -> None:
    response = await client.request(
        route.method, project.url(route.path.format(wid="flow", key_id="abc")), json=_body(route)
    )
    assert response.status_code == 401
