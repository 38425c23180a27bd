"""Projects and API keys: creation, listing, revocation, isolation, roles."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI
from server_testkit import Headers, ProjectKeys, bearer
from sqlalchemy import select

from server.db.models import ApiKey


async def test_create_project_returns_it(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    response = await client.post(
        "/api/projects", json={"id": "acme", "name": "Acme"}, headers=admin_headers
    )
    assert response.status_code == 201
    body = response.json()
    assert body["id"] == "acme" and body["name"] == "Acme"
    assert body["created_at"].endswith(("Z", "+00:00"))


async def test_project_name_defaults_to_id(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    response = await client.post("/api/projects", json={"id": "solo"}, headers=admin_headers)
    assert response.status_code == 201
    assert response.json()["name"] == "solo"


async def test_taken_project_id_is_409(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    await client.post("/api/projects", json={"id": "acme", "name": "A"}, headers=admin_headers)
    response = await client.post(
        "/api/projects", json={"id": "acme", "name": "B"}, headers=admin_headers
    )
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"


@pytest.mark.parametrize("bad_id", ["Acme", "1abc", "a" * 65, "with space", "", "x/y"])
async def test_invalid_project_id_is_422(
    client: httpx.AsyncClient, admin_headers: Headers, bad_id: str
) -> None:
    response = await client.post(
        "/api/projects", json={"id": bad_id, "name": "x"}, headers=admin_headers
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert any(problem["loc"] == "body.id" for problem in body["details"]["errors"])


async def test_only_admin_token_creates_projects(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    response = await client.post(
        "/api/projects", json={"id": "new", "name": "New"}, headers=project.headers("admin")
    )
    assert response.status_code == 403
    assert response.json()["error"] == "forbidden"


async def test_admin_lists_all_projects_key_lists_its_own(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    project: ProjectKeys,
    other_project: ProjectKeys,
) -> None:
    everything = await client.get("/api/projects", headers=admin_headers)
    assert {p["id"] for p in everything.json()["items"]} == {"default", "acme", "globex"}
    own = await client.get("/api/projects", headers=project.headers("viewer"))
    assert own.status_code == 200
    assert [p["id"] for p in own.json()["items"]] == ["acme"]


async def test_create_key_returns_secret_once_and_stores_hash(
    client: httpx.AsyncClient, app: FastAPI, project: ProjectKeys
) -> None:
    response = await client.post(
        project.url("/api-keys"),
        json={"name": "ci", "role": "operator"},
        headers=project.headers("admin"),
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) >= {"id", "name", "role", "key"}
    assert body["role"] == "operator" and body["key"].startswith("gy_")
    listed = await client.get(project.url("/api-keys"), headers=project.headers("admin"))
    ci = next(k for k in listed.json()["items"] if k["id"] == body["id"])
    assert "key" not in ci and ci["name"] == "ci" and ci["role"] == "operator"
    async with app.state.db.sessions() as session:
        row = (await session.scalars(select(ApiKey).where(ApiKey.id == body["id"]))).one()
    assert body["key"] not in row.key_hash and len(row.key_hash) == 64
    works = await client.get(project.url("/workflows"), headers=bearer(body["key"]))
    assert works.status_code == 200


async def test_invalid_role_is_422(client: httpx.AsyncClient, project: ProjectKeys) -> None:
    response = await client.post(
        project.url("/api-keys"),
        json={"name": "x", "role": "owner"},
        headers=project.headers("admin"),
    )
    assert response.status_code == 422


async def test_revoked_key_is_401(client: httpx.AsyncClient, project: ProjectKeys) -> None:
    created = await client.post(
        project.url("/api-keys"),
        json={"name": "tmp", "role": "viewer"},
        headers=project.headers("admin"),
    )
    key = created.json()
    deleted = await client.delete(
        project.url(f"/api-keys/{key['id']}"), headers=project.headers("admin")
    )
    assert deleted.status_code == 204 and deleted.content == b""
    response = await client.get(project.url("/workflows"), headers=bearer(key["key"]))
    assert response.status_code == 401
    again = await client.delete(
        project.url(f"/api-keys/{key['id']}"), headers=project.headers("admin")
    )
    assert again.status_code == 404


async def test_cannot_delete_another_projects_key(
    client: httpx.AsyncClient,
    admin_headers: Headers,
    project: ProjectKeys,
    other_project: ProjectKeys,
) -> None:
    listed = await client.get(other_project.url("/api-keys"), headers=admin_headers)
    foreign_id = listed.json()["items"][0]["id"]
    response = await client.delete(project.url(f"/api-keys/{foreign_id}"), headers=admin_headers)
    assert response.status_code == 404
    still = await client.get(other_project.url("/api-keys"), headers=admin_headers)
    assert foreign_id in {k["id"] for k in still.json()["items"]}


async def test_admin_on_unknown_project_is_404(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    response = await client.get("/api/projects/nope/api-keys", headers=admin_headers)
    assert response.status_code == 404
    assert response.json()["error"] == "not_found"
