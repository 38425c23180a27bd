"""Projects and their API keys (API.md section 1)."""

from __future__ import annotations

from fastapi import APIRouter, Response

from server.auth import AdminDep, PrincipalDep, ProjectAdmin
from server.crud import projects as crud
from server.deps import SessionDep
from server.errors import NotFound
from server.schemas.common import error_responses
from server.schemas.projects import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    ApiKeyOut,
    ProjectCreate,
    ProjectList,
    ProjectOut,
)

router = APIRouter(prefix="/api/projects", tags=["projects"])


@router.post("", status_code=201, responses=error_responses(400, 403, 409, 413))
async def create_project(body: ProjectCreate, session: SessionDep, _: AdminDep) -> ProjectOut:
    """Create a project (server admin token only)."""
    project = await crud.create_project(session, body.id, body.name or body.id)
    await session.commit()
    return ProjectOut.model_validate(project)


@router.get("", responses=error_responses())
async def list_projects(session: SessionDep, principal: PrincipalDep) -> ProjectList:
    """Every project for the admin token; just its own project for a project key."""
    only = None if principal.is_admin else principal.project_id
    projects = await crud.list_projects(session, only=only)
    return ProjectList(items=[ProjectOut.model_validate(p) for p in projects])


@router.post("/{pid}/api-keys", status_code=201, responses=error_responses(400, 403, 404, 413))
async def create_api_key(
    pid: str, body: ApiKeyCreate, session: SessionDep, _: ProjectAdmin
) -> ApiKeyCreated:
    """Create a project key; its secret is in this response only."""
    key, token = await crud.create_api_key(session, pid, body.name, body.role)
    await session.commit()
    return ApiKeyCreated(
        id=key.id, name=key.name, role=body.role, created_at=key.created_at, key=token
    )


@router.get("/{pid}/api-keys", responses=error_responses(403, 404))
async def list_api_keys(pid: str, session: SessionDep, _: ProjectAdmin) -> ApiKeyList:
    """The project's keys, without secrets."""
    keys = await crud.list_api_keys(session, pid)
    return ApiKeyList(items=[ApiKeyOut.model_validate(k) for k in keys])


@router.delete("/{pid}/api-keys/{key_id}", status_code=204, responses=error_responses(403, 404))
async def delete_api_key(pid: str, key_id: str, session: SessionDep, _: ProjectAdmin) -> Response:
    """Revoke a project key at once."""
    if not await crud.delete_api_key(session, pid, key_id):
        raise NotFound(f"API key '{key_id}' not found", details={"key_id": key_id})
    await session.commit()
    return Response(status_code=204)
