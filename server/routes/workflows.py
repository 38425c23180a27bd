"""Workflow definitions: create, version, read, delete, validate, view (API.md section 2)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response

from graphs.errors import DefinitionError
from graphs.graphview import graph_view
from graphs.spec import parse_definition
from graphs.validate import Issue, ValidationResult, validate_definition
from server.auth import Editor, Viewer
from server.crud import workflows as crud
from server.crud.workflows import WorkflowRow
from server.deps import RegistryDep, SessionDep
from server.errors import Invalid
from server.schemas.common import MAX_INT_PARAM, error_responses
from server.schemas.workflows import (
    GraphOut,
    IssueOut,
    ValidationOut,
    VersionList,
    VersionOut,
    WorkflowList,
    WorkflowOut,
    definition_request_body,
)

router = APIRouter(prefix="/api/projects/{pid}/workflows", tags=["workflows"])

DEFINITION_BODY = definition_request_body()
VersionQuery = Annotated[
    int | None, Query(ge=1, le=MAX_INT_PARAM, description="A given version; default latest")
]


async def _read_definition(request: Request) -> Any:
    # The body is read raw because it may be YAML; other media types are sniffed, so
    # `curl --data-binary @flow.yaml` (form-encoded by default) still works.
    body = await request.body()
    try:
        return parse_definition(body, request.headers.get("content-type"))
    except DefinitionError as exc:
        issue = {"path": "", "code": "invalid_value", "message": exc.message}
        raise Invalid(exc.message, code="invalid_workflow", details={"issues": [issue]}) from exc


def _validate(raw: Any, registry: RegistryDep, url_id: str | None = None) -> ValidationResult:
    """Validate; for PUT the body's id must be the URL's (a missing one is taken from it)."""
    extra: list[Issue] = []
    if url_id is not None and isinstance(raw, dict):
        if "id" not in raw:
            raw["id"] = url_id
        elif raw["id"] != url_id:
            message = f"the definition's id {raw['id']!r} differs from the URL's {url_id!r}"
            extra.append(Issue("id", "invalid_value", message))
    result = validate_definition(raw, registry)
    result.issues.extend(extra)
    return result


def _raise_if_invalid(result: ValidationResult) -> None:
    if result.valid:
        return
    first = result.issues[0]
    more = len(result.issues) - 1
    suffix = f" (and {more} more problem{'s' if more > 1 else ''})" if more else ""
    where = f"{first.path}: " if first.path else ""
    raise Invalid(
        f"invalid workflow definition: {where}{first.message}{suffix}",
        code="invalid_workflow",
        details={"issues": [issue.as_dict() for issue in result.issues]},
    )


def _out(row: WorkflowRow) -> WorkflowOut:
    workflow, version = row
    return WorkflowOut(
        id=workflow.id,
        version=version.version,
        name=version.name,
        description=version.description,
        definition=version.definition,
        created_at=workflow.created_at,
        updated_at=version.created_at,
    )


@router.post(
    "",
    status_code=201,
    responses=error_responses(403, 404, 409, 413),
    openapi_extra=DEFINITION_BODY,
    description=(
        "Store a new workflow as version 1. The id of a deleted workflow may be used again:"
        " it comes back with the next version number (its old versions stay pinned to old runs)."
    ),
)
async def create_workflow(
    pid: str, request: Request, session: SessionDep, registry: RegistryDep, _: Editor
) -> WorkflowOut:
    """Store a new workflow (JSON or YAML definition) as version 1."""
    raw = await _read_definition(request)
    _raise_if_invalid(_validate(raw, registry))
    row = await crud.create_workflow(session, pid, raw)
    await session.commit()
    return _out(row)


@router.get("", responses=error_responses(403, 404))
async def list_workflows(
    pid: str,
    session: SessionDep,
    _: Viewer,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_INT_PARAM)] = 0,
) -> WorkflowList:
    """A page of the project's workflows (latest versions), most recently updated first."""
    rows, total = await crud.list_workflows(session, pid, limit=limit, offset=offset)
    return WorkflowList(items=[_out(row) for row in rows], total=total)


@router.post("/validate", responses=error_responses(403, 404, 413), openapi_extra=DEFINITION_BODY)
async def validate_workflow(
    pid: str, request: Request, registry: RegistryDep, _: Viewer
) -> ValidationOut:
    """Check a definition without storing it: every issue, and the execution levels."""
    result = _validate(await _read_definition(request), registry)
    return ValidationOut(
        valid=result.valid,
        issues=[IssueOut(**issue.as_dict()) for issue in result.issues],
        levels=result.levels,
    )


@router.get("/{wid}", responses=error_responses(403, 404))
async def get_workflow(
    pid: str, wid: str, session: SessionDep, _: Viewer, version: VersionQuery = None
) -> WorkflowOut:
    """The latest version of a workflow, or `?version=N`."""
    return _out(await crud.get_workflow(session, pid, wid, version))


@router.put("/{wid}", responses=error_responses(403, 404, 413), openapi_extra=DEFINITION_BODY)
async def update_workflow(
    pid: str, wid: str, request: Request, session: SessionDep, registry: RegistryDep, _: Editor
) -> WorkflowOut:
    """Store a full definition as the next version; earlier versions never change."""
    raw = await _read_definition(request)
    _raise_if_invalid(_validate(raw, registry, url_id=wid))
    row = await crud.update_workflow(session, pid, wid, raw)
    await session.commit()
    return _out(row)


@router.delete("/{wid}", status_code=204, responses=error_responses(403, 404))
async def delete_workflow(pid: str, wid: str, session: SessionDep, _: Editor) -> Response:
    """Delete a workflow; its versions and runs stay readable through the runs."""
    await crud.delete_workflow(session, pid, wid)
    await session.commit()
    return Response(status_code=204)


@router.get("/{wid}/versions", responses=error_responses(403, 404))
async def list_versions(pid: str, wid: str, session: SessionDep, _: Viewer) -> VersionList:
    """Every version of a workflow, newest first."""
    versions = await crud.list_versions(session, pid, wid)
    return VersionList(items=[VersionOut.model_validate(v) for v in versions])


@router.get("/{wid}/graph", responses=error_responses(403, 404))
async def get_graph(
    pid: str,
    wid: str,
    session: SessionDep,
    registry: RegistryDep,
    _: Viewer,
    version: VersionQuery = None,
) -> GraphOut:
    """Nodes, edges, execution levels and a Mermaid flowchart of a workflow version."""
    row = (await crud.get_workflow(session, pid, wid, version))[1]
    result = validate_definition(row.definition, registry)
    if result.spec is None:
        # A tool or agent may have been removed since; the shape of the graph is still known.
        result = validate_definition(row.definition)
    _raise_if_invalid(result)
    assert result.spec is not None
    return GraphOut(**graph_view(result.spec))
