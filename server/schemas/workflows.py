"""Workflows, their versions, validation results and graph views."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from graphs.spec import definition_json_schema
from server.schemas.common import Schema


class WorkflowOut(BaseModel):
    """One stored version of a workflow."""

    id: str
    version: int
    name: str | None
    description: str | None
    definition: dict[str, Any]
    created_at: datetime = Field(description="When the workflow was first created")
    updated_at: datetime = Field(description="When this version was stored")


class WorkflowList(BaseModel):
    """A page of workflows (latest versions)."""

    items: list[WorkflowOut]
    total: int


class VersionOut(Schema):
    """One version in a workflow's history."""

    version: int
    created_at: datetime


class VersionList(BaseModel):
    """A workflow's versions, newest first."""

    items: list[VersionOut]


class IssueOut(BaseModel):
    """One problem in a definition."""

    path: str = Field(examples=["nodes[2].inputs.query"])
    code: str = Field(examples=["unknown_reference"])
    message: str


class ValidationOut(BaseModel):
    """The outcome of validating a definition."""

    valid: bool
    issues: list[IssueOut]
    levels: list[list[str]] = Field(description="Execution levels; nodes in one run in parallel")


class GraphOut(BaseModel):
    """A workflow as a graph, with a Mermaid flowchart."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    levels: list[list[str]]
    mermaid: str


def definition_request_body() -> dict[str, Any]:
    """`openapi_extra` for routes that read a raw JSON or YAML definition body."""
    schema = _inline_refs(definition_json_schema())
    content = {
        media: {"schema": schema} for media in ("application/json", "application/yaml", "text/yaml")
    }
    return {"requestBody": {"required": True, "content": content}}


def _inline_refs(schema: dict[str, Any]) -> dict[str, Any]:
    # `#/$defs/...` refs would resolve against the whole OpenAPI document and break there;
    # the definition format has no recursive models, so inlining them is safe.
    defs: dict[str, Any] = schema.pop("$defs", {})
    schema.pop("$schema", None)

    def resolve(value: Any) -> Any:
        if isinstance(value, dict):
            ref = value.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                return resolve(defs[ref.removeprefix("#/$defs/")])
            return {key: resolve(item) for key, item in value.items()}
        if isinstance(value, list):
            return [resolve(item) for item in value]
        return value

    resolved: dict[str, Any] = resolve(schema)
    return resolved
