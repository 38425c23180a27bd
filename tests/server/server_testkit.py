"""Helpers shared by server tests (imported by conftest.py and test modules)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from server.crud.runs import new_run
from server.db.models import Run

Headers = dict[str, str]


def bearer(token: str) -> Headers:
    """Authorization header for a token."""
    return {"Authorization": f"Bearer {token}"}


def simple_definition(workflow_id: str = "flow", **extra: Any) -> dict[str, Any]:
    """A valid three-node workflow using built-in demo tools: a -> (b, c)."""
    return {
        "id": workflow_id,
        "name": "Simple flow",
        "description": "a then b and c",
        "nodes": [
            {"id": "a", "type": "tool_call", "tool": "echo", "inputs": {"text": "hi"}},
            {"id": "b", "type": "tool_call", "tool": "notify", "inputs": {"text": "$a"}},
            {"id": "c", "type": "tool_call", "tool": "notify", "inputs": {"text": "x"}},
        ],
        "edges": [{"from": "a", "to": "b"}, {"from": "a", "to": "c"}],
        **extra,
    }


@dataclass
class ProjectKeys:
    """A project and one key per role (plus the admin token)."""

    pid: str
    keys: dict[str, str] = field(default_factory=dict)

    def headers(self, role: str) -> Headers:
        """Headers for this project's key with `role`."""
        return bearer(self.keys[role])

    def url(self, path: str = "") -> str:
        """`/api/projects/<pid>` + path."""
        return f"/api/projects/{self.pid}{path}"


ROLES = ("viewer", "approver", "operator", "editor", "admin")


async def create_workflow(
    client: httpx.AsyncClient, project: ProjectKeys, definition: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Store a workflow with the project's editor key; returns the response body."""
    response = await client.post(
        project.url("/workflows"),
        json=definition or simple_definition(),
        headers=project.headers("editor"),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def create_run(session: AsyncSession, **fields: Any) -> Run:
    """A run stored straight through the session (`new_run(**fields)`), for CRUD tests."""
    run = new_run(**fields)
    session.add(run)
    await session.flush()
    return run
