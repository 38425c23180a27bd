"""Fixtures for server tests: settings in tmp_path, the real app with its lifespan, clients."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from server_testkit import ROLES, Headers, ProjectKeys, bearer

from server.app import create_app
from server.settings import Settings


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings with every file in tmp_path; no admin token, so one is generated."""
    return Settings(data_dir=tmp_path / "data", load_examples=False)


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[FastAPI]:
    """The real app with its lifespan running (ASGITransport does not run lifespans)."""
    application = create_app(settings)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client talking to the app in-process."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
        yield c


@pytest.fixture
def admin_headers(app: FastAPI) -> Headers:
    """The server admin token."""
    return bearer(app.state.admin_token)


MakeProject = Callable[[str], Awaitable[ProjectKeys]]


@pytest.fixture
def make_project(client: httpx.AsyncClient, admin_headers: Headers) -> MakeProject:
    """Factory: create a project with one key per role."""

    async def make(pid: str) -> ProjectKeys:
        response = await client.post(
            "/api/projects", json={"id": pid, "name": pid.title()}, headers=admin_headers
        )
        assert response.status_code == 201, response.text
        project = ProjectKeys(pid)
        for role in ROLES:
            created = await client.post(
                project.url("/api-keys"), json={"name": role, "role": role}, headers=admin_headers
            )
            assert created.status_code == 201, created.text
            project.keys[role] = created.json()["key"]
        return project

    return make


@pytest.fixture
async def project(make_project: MakeProject) -> ProjectKeys:
    """Project `acme` with a key per role."""
    return await make_project("acme")


@pytest.fixture
async def other_project(make_project: MakeProject) -> ProjectKeys:
    """Project `globex` with a key per role, to check isolation."""
    return await make_project("globex")
