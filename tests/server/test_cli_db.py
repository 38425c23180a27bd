"""`graphyard db upgrade` creates (and re-applies) the schema of a fresh data directory."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path


def test_db_upgrade_creates_the_schema_and_is_idempotent(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = {**os.environ, "GRAPHYARD_DATA_DIR": str(data)}
    for _ in range(2):
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", "db", "upgrade"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert "up to date" in done.stderr
    tables = {
        row[0]
        for row in sqlite3.connect(data / "graphyard.db").execute(
            "SELECT name FROM sqlite_master WHERE type = 'table'"
        )
    }
    assert {
        "projects",
        "api_keys",
        "workflows",
        "workflow_versions",
        "runs",
        "node_states",
        "gates",
        "run_events",
        "alembic_version",
    } <= tables
