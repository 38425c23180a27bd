"""Projects and their API keys."""

from __future__ import annotations

import hashlib
import hmac
import secrets

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import ApiKey, Project
from server.errors import Conflict
from server.statuses import Role

KEY_PREFIX = "gy_"


def hash_secret(secret: str) -> str:
    """SHA-256 hex of a secret; the secrets are random and long, so no slow KDF is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _new_key_token(key_id: str) -> str:
    # gy_<key id>_<secret>: the id lets us find the row without a lookup by secret, and the
    # prefix makes a leaked key easy to recognise (and to scan for).
    return f"{KEY_PREFIX}{key_id}_{secrets.token_urlsafe(32)}"


def _key_id_of(token: str) -> str | None:
    if not token.startswith(KEY_PREFIX):
        return None
    key_id, sep, secret = token[len(KEY_PREFIX) :].partition("_")
    return key_id if sep and key_id and secret else None


async def create_project(session: AsyncSession, project_id: str, name: str) -> Project:
    """Add a project; Conflict when the id is taken."""
    if await session.get(Project, project_id) is not None:
        raise Conflict(f"project '{project_id}' already exists", details={"id": project_id})
    project = Project(id=project_id, name=name)
    session.add(project)
    try:
        await session.flush()
    except IntegrityError as exc:  # lost a race with another request creating the same id
        raise Conflict(f"project '{project_id}' already exists") from exc
    return project


async def get_project(session: AsyncSession, project_id: str) -> Project | None:
    """The project, or None."""
    return await session.get(Project, project_id)


async def list_projects(session: AsyncSession, only: str | None = None) -> list[Project]:
    """All projects by id, or just the one named by `only`."""
    query = select(Project).order_by(Project.id)
    if only is not None:
        query = query.where(Project.id == only)
    return list((await session.scalars(query)).all())


async def count_projects(session: AsyncSession) -> int:
    """How many projects exist."""
    return int(await session.scalar(select(func.count()).select_from(Project)) or 0)


async def create_api_key(
    session: AsyncSession, project_id: str, name: str, role: Role
) -> tuple[ApiKey, str]:
    """Add a key; returns the row and the secret token, which is not stored anywhere."""
    key_id = secrets.token_hex(6)
    token = _new_key_token(key_id)
    key = ApiKey(
        id=key_id, project_id=project_id, name=name, role=role.value, key_hash=hash_secret(token)
    )
    session.add(key)
    await session.flush()
    return key, token


async def list_api_keys(session: AsyncSession, project_id: str) -> list[ApiKey]:
    """The project's keys, oldest first."""
    query = (
        select(ApiKey).where(ApiKey.project_id == project_id).order_by(ApiKey.created_at, ApiKey.id)
    )
    return list((await session.scalars(query)).all())


async def delete_api_key(session: AsyncSession, project_id: str, key_id: str) -> bool:
    """Revoke a key of this project; False when there is no such key."""
    result = await session.execute(
        delete(ApiKey).where(ApiKey.project_id == project_id, ApiKey.id == key_id)
    )
    await session.flush()
    return bool(getattr(result, "rowcount", 0))


async def authenticate_key(session: AsyncSession, token: str) -> ApiKey | None:
    """The key this token belongs to, or None; compares hashes in constant time."""
    key_id = _key_id_of(token)
    if key_id is None:
        return None
    key = await session.get(ApiKey, key_id)
    # Hash even when the id is unknown, so a miss takes as long as a wrong secret.
    candidate = hash_secret(token)
    if key is None or not hmac.compare_digest(candidate, key.key_hash):
        return None
    return key
