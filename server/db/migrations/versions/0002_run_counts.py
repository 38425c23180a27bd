"""Run counts per project, workflow and status, kept by triggers on SQLite.

The run list answers with the `total` of matching runs; counting 100k runs scans an index
(about 8 ms in the server), so the list slowed down as history grew. Triggers on `runs`
keep `run_counts` exact in the same transaction as every insert, status change and
delete, whoever writes (the server, a cascade, a script). On Postgres, where several
processes may write at once, the counter rows would be a point of lock contention (and of
deadlocks between batches), so the table is created but not kept, and the list counts.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADD = """
    INSERT INTO run_counts (project_id, workflow_id, status, n)
    VALUES ({row}.project_id, {row}.workflow_id, {row}.status, 1)
    ON CONFLICT (project_id, workflow_id, status) DO UPDATE SET n = n + 1;
"""
_REMOVE = """
    UPDATE run_counts SET n = n - 1
    WHERE project_id = {row}.project_id AND workflow_id = {row}.workflow_id
      AND status = {row}.status;
"""
SQLITE_TRIGGERS = {
    "run_counts_insert": "AFTER INSERT ON runs BEGIN" + _ADD.format(row="NEW") + "END",
    "run_counts_status": (
        "AFTER UPDATE OF status ON runs WHEN OLD.status IS NOT NEW.status BEGIN"
        + _REMOVE.format(row="OLD")
        + _ADD.format(row="NEW")
        + "END"
    ),
    "run_counts_delete": "AFTER DELETE ON runs BEGIN" + _REMOVE.format(row="OLD") + "END",
}


def upgrade() -> None:
    op.create_table(
        "run_counts",
        sa.Column("project_id", sa.String(64), primary_key=True),
        sa.Column("workflow_id", sa.String(64), primary_key=True),
        sa.Column("status", sa.String(20), primary_key=True),
        sa.Column("n", sa.Integer(), nullable=False),
    )
    if op.get_bind().dialect.name != "sqlite":
        return
    for name, body in SQLITE_TRIGGERS.items():
        op.execute(f"CREATE TRIGGER {name} {body}")
    op.execute(
        "INSERT INTO run_counts (project_id, workflow_id, status, n) "
        "SELECT project_id, workflow_id, status, count(*) FROM runs "
        "GROUP BY project_id, workflow_id, status"
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in SQLITE_TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
    op.drop_table("run_counts")
