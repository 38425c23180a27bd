"""Request and response models of runs, gates and checkpoints (API.md section 3)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from graphs.spec import json_value_problem
from server.schemas.common import MAX_INT_PARAM
from server.statuses import GateStatus, NodeStatus, RunStatus


def _storable(value: dict[str, Any]) -> dict[str, Any]:
    """Refuse what runs could not store or send back (NaN, huge integers, deep nesting)."""
    problem = json_value_problem(value)
    if problem is not None:
        where, reason = problem
        raise ValueError(f"{where}: {reason}" if where else reason)
    return value


JsonObject = Annotated[dict[str, Any], AfterValidator(_storable)]


def _json_integer(value: Any) -> Any:
    """An integer as JSON Schema reads one: 5 or 5.0, never "5" or true."""
    if isinstance(value, str | bool):
        raise ValueError("Input should be a valid integer")
    return value


# Request fields take what their OpenAPI schema says and nothing else: `"wait": "yes"`,
# `"execute": 1` or `"version": "2"` are refused rather than quietly converted.
Version = Annotated[int, Field(ge=1, le=MAX_INT_PARAM), BeforeValidator(_json_integer)]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RunCreate(_Request):
    """Create a run of a workflow version; optionally start it and wait for it."""

    workflow_id: str = Field(max_length=64)
    version: Version | None = None
    input: JsonObject = Field(default_factory=dict)
    execute: StrictBool = False
    wait: StrictBool = False
    timeout_seconds: float = Field(30, gt=0, le=3600, strict=True)


class ExecuteRequest(_Request):
    input_data: JsonObject | None = None


class ResumeRequest(_Request):
    checkpoint_id: str | None = Field(None, max_length=128)


class DecisionRequest(_Request):
    decision: Literal["approve", "reject"]
    comment: str | None = Field(None, max_length=10_000)
    data: JsonObject | None = None


class RunError(BaseModel):
    code: str
    message: str
    node_id: str | None = None


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


class RunOut(BaseModel):
    """A run as the API shows it."""

    run_id: str
    project_id: str
    workflow_id: str
    workflow_version: int
    status: RunStatus
    input: dict[str, Any]
    output: Any = None
    error: RunError | None = None
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    progress: float = Field(ge=0, le=1)
    usage: Usage


class RunList(BaseModel):
    items: list[RunOut]
    total: int


class RunAction(BaseModel):
    """The answer to execute, cancel, pause, resume and retry."""

    run_id: str
    status: RunStatus
    message: str
    started_at: datetime | None = None
    cancelled_at: datetime | None = None
    paused_at: datetime | None = None
    resumed_at: datetime | None = None
    checkpoint_id: str | None = None


class NodeStateOut(BaseModel):
    node_id: str
    status: NodeStatus
    progress: float
    attempts: int
    started_at: datetime | None = None
    completed_at: datetime | None = None
    error: RunError | None = None


class RunStatusOut(BaseModel):
    run_id: str
    status: RunStatus
    progress: float
    current_node: str | None = None
    started_at: datetime | None = None
    estimated_completion: datetime | None = None
    node_states: list[NodeStateOut]


class CheckpointOut(BaseModel):
    checkpoint_id: str
    step: int | None = None
    created_at: datetime | None = None
    next: list[str]


class CheckpointList(BaseModel):
    items: list[CheckpointOut]


class GateOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    gate_id: str
    node_id: str
    status: GateStatus
    payload: Any = None
    decision: str | None = None
    comment: str | None = None
    decided_by: str | None = None
    created_at: datetime
    decided_at: datetime | None = None


class GateList(BaseModel):
    items: list[GateOut]
