"""Workflows and their immutable versions; deleting is a soft delete."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from server.db.models import Workflow, WorkflowVersion
from server.db.types import utcnow
from server.errors import Conflict, NotFound

WorkflowRow = tuple[Workflow, WorkflowVersion]


def _not_found(workflow_id: str, version: int | None = None) -> NotFound:
    if version is None:
        return NotFound(f"workflow '{workflow_id}' not found", details={"workflow_id": workflow_id})
    return NotFound(
        f"workflow '{workflow_id}' has no version {version}",
        details={"workflow_id": workflow_id, "version": version},
    )


async def _add_version(
    session: AsyncSession, workflow: Workflow, definition: dict[str, Any]
) -> WorkflowRow:
    row = WorkflowVersion(
        project_id=workflow.project_id,
        workflow_id=workflow.id,
        version=workflow.latest_version,
        definition=definition,
        name=definition.get("name"),
        description=definition.get("description"),
        created_at=workflow.updated_at,
    )
    session.add(row)
    await session.flush()
    return workflow, row


async def _bump_version(
    session: AsyncSession, project_id: str, workflow_id: str, *, revive: bool
) -> Workflow | None:
    # One UPDATE both checks the state and takes the next number, so two concurrent
    # writers can never claim the same version.
    now = utcnow()
    alive = Workflow.deleted_at.is_not(None) if revive else Workflow.deleted_at.is_(None)
    values: dict[str, Any] = {"latest_version": Workflow.latest_version + 1, "updated_at": now}
    if revive:
        values.update(deleted_at=None, created_at=now)
    result = await session.execute(
        update(Workflow)
        .where(Workflow.project_id == project_id, Workflow.id == workflow_id, alive)
        .values(**values)
        .returning(Workflow)
        .execution_options(populate_existing=True)
    )
    return result.scalar_one_or_none()


async def create_workflow(
    session: AsyncSession, project_id: str, definition: dict[str, Any]
) -> WorkflowRow:
    """Store version 1 of a new workflow; Conflict when the id is in use.

    A deleted id may be used again: it comes back with the next version number, so the
    versions that old runs are pinned to stay intact.
    """
    workflow_id = str(definition["id"])
    existing = await session.get(Workflow, (project_id, workflow_id))
    if existing is not None and existing.deleted_at is None:
        raise Conflict(
            f"workflow '{workflow_id}' already exists", details={"workflow_id": workflow_id}
        )
    if existing is not None:
        revived = await _bump_version(session, project_id, workflow_id, revive=True)
        if revived is None:
            raise Conflict(f"workflow '{workflow_id}' was re-created at the same moment")
        return await _add_version(session, revived, definition)
    now = utcnow()
    workflow = Workflow(
        project_id=project_id, id=workflow_id, latest_version=1, created_at=now, updated_at=now
    )
    session.add(workflow)
    try:
        await session.flush()
    except IntegrityError as exc:  # lost a race with a concurrent create of the same id
        raise Conflict(f"workflow '{workflow_id}' already exists") from exc
    return await _add_version(session, workflow, definition)


async def update_workflow(
    session: AsyncSession, project_id: str, workflow_id: str, definition: dict[str, Any]
) -> WorkflowRow:
    """Store a definition as the next version of a live workflow; NotFound otherwise."""
    workflow = await _bump_version(session, project_id, workflow_id, revive=False)
    if workflow is None:
        raise _not_found(workflow_id)
    return await _add_version(session, workflow, definition)


async def get_workflow(
    session: AsyncSession,
    project_id: str,
    workflow_id: str,
    version: int | None = None,
    *,
    include_deleted: bool = False,
) -> WorkflowRow:
    """The latest (or a given) version; NotFound when missing or deleted.

    The executor passes `include_deleted=True`: runs keep working on a deleted workflow.
    """
    workflow = await session.get(Workflow, (project_id, workflow_id))
    if workflow is None or (workflow.deleted_at is not None and not include_deleted):
        raise _not_found(workflow_id)
    number = workflow.latest_version if version is None else version
    row = await session.get(WorkflowVersion, (project_id, workflow_id, number))
    if row is None:
        raise _not_found(workflow_id, number)
    return workflow, row


async def resolve_version(
    session: AsyncSession, project_id: str, workflow_id: str, version: int | None = None
) -> int:
    """The version a new run pins: the latest, or `version` if the live workflow has it.

    NotFound as `get_workflow`; one indexed query that does not load the definition.
    """
    wanted = Workflow.latest_version if version is None else version
    query = (
        select(WorkflowVersion.version)
        .select_from(Workflow)
        .outerjoin(
            WorkflowVersion,
            (WorkflowVersion.project_id == Workflow.project_id)
            & (WorkflowVersion.workflow_id == Workflow.id)
            & (WorkflowVersion.version == wanted),
        )
        .where(
            Workflow.project_id == project_id,
            Workflow.id == workflow_id,
            Workflow.deleted_at.is_(None),
        )
    )
    found = (await session.execute(query)).first()
    if found is None:
        raise _not_found(workflow_id)
    if found[0] is None:
        raise _not_found(workflow_id, version)
    return int(found[0])


async def list_workflows(
    session: AsyncSession, project_id: str, *, limit: int, offset: int
) -> tuple[list[WorkflowRow], int]:
    """Live workflows with their latest versions, most recently updated first; and the total."""
    live = (Workflow.project_id == project_id, Workflow.deleted_at.is_(None))
    total = await session.scalar(select(func.count()).select_from(Workflow).where(*live))
    query = (
        select(Workflow, WorkflowVersion)
        .join(
            WorkflowVersion,
            (WorkflowVersion.project_id == Workflow.project_id)
            & (WorkflowVersion.workflow_id == Workflow.id)
            & (WorkflowVersion.version == Workflow.latest_version),
        )
        .where(*live)
        .order_by(Workflow.updated_at.desc(), Workflow.id)
        .limit(limit)
        .offset(offset)
    )
    rows = [(wf, ver) for wf, ver in (await session.execute(query)).all()]
    return rows, int(total or 0)


async def list_versions(
    session: AsyncSession, project_id: str, workflow_id: str
) -> list[WorkflowVersion]:
    """Every version of a live workflow, newest first."""
    await get_workflow(session, project_id, workflow_id)
    query = (
        select(WorkflowVersion)
        .where(WorkflowVersion.project_id == project_id, WorkflowVersion.workflow_id == workflow_id)
        .order_by(WorkflowVersion.version.desc())
    )
    return list((await session.scalars(query)).all())


async def delete_workflow(session: AsyncSession, project_id: str, workflow_id: str) -> None:
    """Soft-delete: the id disappears from the API, versions and runs stay in the database."""
    result = await session.execute(
        update(Workflow)
        .where(
            Workflow.project_id == project_id,
            Workflow.id == workflow_id,
            Workflow.deleted_at.is_(None),
        )
        .values(deleted_at=utcnow())
        .returning(Workflow.id)
    )
    if result.scalar_one_or_none() is None:
        raise _not_found(workflow_id)
    await session.flush()


async def count_workflows(session: AsyncSession) -> int:
    """Live workflows across all projects (for /metrics)."""
    query = select(func.count()).select_from(Workflow).where(Workflow.deleted_at.is_(None))
    return int(await session.scalar(query) or 0)
