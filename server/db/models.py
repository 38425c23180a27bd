"""ORM tables; the initial Alembic revision creates exactly these."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    String,
    Text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from server.db.types import UTCDateTime, utcnow

# Stable constraint names, so later migrations (and SQLite batch mode) can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

ID = String(64)


def _run_fk() -> ForeignKey:
    # Events, gates and node states go with their run.
    return ForeignKey("runs.run_id", ondelete="CASCADE")


class Base(DeclarativeBase):
    """Declarative base with the naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON()}


class Project(Base):
    """A tenant: workflows, runs and keys all belong to one project."""

    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A project key; only the SHA-256 of its secret part is stored."""

    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), index=True
    )
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Workflow(Base):
    """A workflow id within a project; its content lives in immutable versions."""

    __tablename__ = "workflows"

    project_id: Mapped[str] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    latest_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Soft delete: runs and versions of a deleted workflow stay readable.
    deleted_at: Mapped[datetime | None] = mapped_column(default=None)


class WorkflowVersion(Base):
    """One immutable version of a workflow definition."""

    __tablename__ = "workflow_versions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["project_id", "workflow_id"],
            ["workflows.project_id", "workflows.id"],
            ondelete="CASCADE",
        ),
    )

    project_id: Mapped[str] = mapped_column(ID, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(ID, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    definition: Mapped[dict[str, Any]]
    name: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Run(Base):
    """One execution of a pinned workflow version."""

    __tablename__ = "runs"
    __table_args__ = (
        ForeignKeyConstraint(
            ["project_id", "workflow_id", "workflow_version"],
            [
                "workflow_versions.project_id",
                "workflow_versions.workflow_id",
                "workflow_versions.version",
            ],
            ondelete="CASCADE",
        ),
        # The list endpoint filters by project (+ workflow or status), newest first.
        Index("ix_runs_project_created", "project_id", "created_at"),
        Index("ix_runs_project_workflow_created", "project_id", "workflow_id", "created_at"),
        Index("ix_runs_project_status_created", "project_id", "status", "created_at"),
        # Recovery on start and the retry sweeper look runs up by status across projects.
        Index("ix_runs_status_next_retry", "status", "next_retry_at"),
    )

    run_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id", ondelete="CASCADE"))
    workflow_id: Mapped[str] = mapped_column(ID)
    workflow_version: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20))
    input: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    output: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    usage: Mapped[dict[str, Any]] = mapped_column(JSON)
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    current_node: Mapped[str | None] = mapped_column(String(64), default=None)
    retry_count: Mapped[int] = mapped_column(Integer, default=0)
    checkpoint_id: Mapped[str | None] = mapped_column(String(64), default=None)
    # The last event sequence number handed out; bumped atomically by append_event.
    last_event_seq: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    next_retry_at: Mapped[datetime | None] = mapped_column(default=None)
    paused_at: Mapped[datetime | None] = mapped_column(default=None)


class NodeState(Base):
    """The state of one node within one run."""

    __tablename__ = "node_states"

    run_id: Mapped[str] = mapped_column(String(36), _run_fk(), primary_key=True)
    node_id: Mapped[str] = mapped_column(ID, primary_key=True)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    started_at: Mapped[datetime | None] = mapped_column(default=None)
    completed_at: Mapped[datetime | None] = mapped_column(default=None)
    error: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    output: Mapped[Any] = mapped_column(JSON, default=None, nullable=True)


class Gate(Base):
    """A human gate of a run: waiting for, or holding, a person's decision."""

    __tablename__ = "gates"

    run_id: Mapped[str] = mapped_column(String(36), _run_fk(), primary_key=True)
    gate_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    node_id: Mapped[str] = mapped_column(ID)
    status: Mapped[str] = mapped_column(String(20))
    payload: Mapped[Any] = mapped_column(JSON, default=None, nullable=True)
    decision: Mapped[str | None] = mapped_column(String(20), default=None)
    comment: Mapped[str | None] = mapped_column(Text, default=None)
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    decided_by: Mapped[str | None] = mapped_column(String(200), default=None)
    interrupt_id: Mapped[str | None] = mapped_column(String(128), default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(default=None)


class RunEvent(Base):
    """One event of a run, in order: the durable log that SSE streams replay."""

    __tablename__ = "run_events"

    run_id: Mapped[str] = mapped_column(String(36), _run_fk(), primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    type: Mapped[str] = mapped_column(String(40))
    ts: Mapped[datetime] = mapped_column(default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RunCount(Base):
    """How many runs a project has per workflow and status, so the run list's `total`
    is a sum over a few rows instead of a scan of every run. On SQLite, triggers on `runs`
    keep it (migration 0002); on Postgres the list counts the runs themselves."""

    __tablename__ = "run_counts"

    project_id: Mapped[str] = mapped_column(ID, primary_key=True)
    workflow_id: Mapped[str] = mapped_column(ID, primary_key=True)
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    n: Mapped[int] = mapped_column(Integer, default=0)
