"""Initial schema: projects, api keys, workflows and versions, runs, node states, gates, events.

Revision ID: 0001
Revises:
Create Date: 2025-01-01 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(64)


def _ts(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    _create_projects_and_keys()
    _create_workflows()
    _create_runs()
    _create_run_indexes()
    _create_node_states()
    _create_gates()
    _create_run_events()


def _create_projects_and_keys() -> None:
    op.create_table(
        "projects",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        _ts("created_at"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_projects")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_api_keys_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
    )
    op.create_index(op.f("ix_api_keys_project_id"), "api_keys", ["project_id"])


def _create_workflows() -> None:
    op.create_table(
        "workflows",
        sa.Column("project_id", ID, nullable=False),
        sa.Column("id", ID, nullable=False),
        sa.Column("latest_version", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("updated_at"),
        _ts("deleted_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_workflows_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("project_id", "id", name=op.f("pk_workflows")),
    )
    op.create_table(
        "workflow_versions",
        sa.Column("project_id", ID, nullable=False),
        sa.Column("workflow_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("definition", sa.JSON(), nullable=False),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("description", sa.Text(), nullable=True),
        _ts("created_at"),
        sa.ForeignKeyConstraint(
            ["project_id", "workflow_id"],
            ["workflows.project_id", "workflows.id"],
            name=op.f("fk_workflow_versions_project_id_workflows"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "project_id", "workflow_id", "version", name=op.f("pk_workflow_versions")
        ),
    )


def _create_runs() -> None:
    op.create_table(
        "runs",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("workflow_id", ID, nullable=False),
        sa.Column("workflow_version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("input", sa.JSON(), nullable=False),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("usage", sa.JSON(), nullable=False),
        sa.Column("progress", sa.Float(), nullable=False),
        sa.Column("current_node", sa.String(64), nullable=True),
        sa.Column("retry_count", sa.Integer(), nullable=False),
        sa.Column("checkpoint_id", sa.String(64), nullable=True),
        sa.Column("last_event_seq", sa.Integer(), nullable=False),
        _ts("created_at"),
        _ts("started_at", nullable=True),
        _ts("finished_at", nullable=True),
        _ts("next_retry_at", nullable=True),
        _ts("paused_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["project_id"],
            ["projects.id"],
            name=op.f("fk_runs_project_id_projects"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["project_id", "workflow_id", "workflow_version"],
            [
                "workflow_versions.project_id",
                "workflow_versions.workflow_id",
                "workflow_versions.version",
            ],
            name=op.f("fk_runs_project_id_workflow_versions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", name=op.f("pk_runs")),
    )


def _create_run_indexes() -> None:
    # Listing is by project (+ workflow or status), newest first; recovery and the retry
    # sweeper look runs up by status across projects.
    op.create_index("ix_runs_project_created", "runs", ["project_id", "created_at"])
    op.create_index(
        "ix_runs_project_workflow_created", "runs", ["project_id", "workflow_id", "created_at"]
    )
    op.create_index(
        "ix_runs_project_status_created", "runs", ["project_id", "status", "created_at"]
    )
    op.create_index("ix_runs_status_next_retry", "runs", ["status", "next_retry_at"])


def _create_node_states() -> None:
    op.create_table(
        "node_states",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("node_id", ID, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        _ts("started_at", nullable=True),
        _ts("completed_at", nullable=True),
        sa.Column("error", sa.JSON(), nullable=True),
        sa.Column("output", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
            name=op.f("fk_node_states_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "node_id", name=op.f("pk_node_states")),
    )


def _create_gates() -> None:
    op.create_table(
        "gates",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("gate_id", sa.String(80), nullable=False),
        sa.Column("node_id", ID, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=True),
        sa.Column("decision", sa.String(20), nullable=True),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("decided_by", sa.String(200), nullable=True),
        sa.Column("interrupt_id", sa.String(128), nullable=True),
        _ts("created_at"),
        _ts("decided_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["runs.run_id"], name=op.f("fk_gates_run_id_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("run_id", "gate_id", name=op.f("pk_gates")),
    )


def _create_run_events() -> None:
    op.create_table(
        "run_events",
        sa.Column("run_id", sa.String(36), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        _ts("ts"),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["runs.run_id"],
            name=op.f("fk_run_events_run_id_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("run_id", "seq", name=op.f("pk_run_events")),
    )


def downgrade() -> None:
    for table in ("run_events", "gates", "node_states", "runs"):
        op.drop_table(table)
    op.drop_table("workflow_versions")
    op.drop_table("workflows")
    op.drop_index(op.f("ix_api_keys_project_id"), table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("projects")
