"""open_checkpointer: SQLite (default) and Postgres, tuned and durable across reopen."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path
from typing import Any

import pytest

from checkpoints import is_postgres, open_checkpointer, sqlite_path
from graphs.compile import compile_workflow
from graphs.registry import Registry
from graphs.runner import decision_command, drive
from graphs.spec import WorkflowSpec

GATED = WorkflowSpec.model_validate({
    "id": "gated",
    "steps": [
        {"id": "first", "type": "tool_call", "tool": "echo", "inputs": {"value": "$input.x"}},
        {"id": "ok", "type": "human_gate", "prompt": "go?"},
        {"id": "last", "type": "tool_call", "tool": "echo", "inputs": {"value": "$first"}},
    ],
})
PG_URL = "postgresql://postgres@127.0.0.1:5432/test"


async def _ignore(_: dict[str, Any]) -> None:
    return None


def test_url_forms() -> None:
    assert sqlite_path("sqlite:///tmp/a.sqlite") == "tmp/a.sqlite"
    assert sqlite_path("sqlite+aiosqlite:////abs/a.sqlite") == "/abs/a.sqlite"
    assert sqlite_path("/abs/b.sqlite") == "/abs/b.sqlite"
    assert is_postgres("postgresql://u@h/db") and is_postgres("postgresql+psycopg://u@h/db")
    assert not is_postgres("sqlite:///x")


async def test_sqlite_is_wal_and_creates_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "cp.sqlite"
    async with open_checkpointer(f"sqlite:///{path}") as saver:
        async with saver.conn.execute("PRAGMA journal_mode") as cur:  # type: ignore[attr-defined]
            assert (await cur.fetchone())[0] == "wal"
        async with saver.conn.execute("PRAGMA synchronous") as cur:  # type: ignore[attr-defined]
            assert (await cur.fetchone())[0] == 1  # NORMAL
    assert path.exists()


async def _gate_survives_reopen(url: str) -> None:
    registry = Registry.from_settings()
    run_id = str(uuid.uuid4())
    async with open_checkpointer(url) as saver:
        workflow = compile_workflow(GATED, registry, saver)
        result = await drive(workflow, run_id, workflow.initial_state({"x": 7}), _ignore)
        assert result.status == "WAITING"
        interrupt_id = result.gates[0].interrupt_id
    async with open_checkpointer(url) as saver:  # a new process would do the same
        workflow = compile_workflow(GATED, registry, saver)
        answer = {"decision": "approve", "comment": None, "data": None, "decided_by": "t"}
        result = await drive(workflow, run_id, decision_command({interrupt_id: answer}), _ignore)
    assert result.status == "COMPLETED"
    assert result.output == {"last": 7}


async def test_sqlite_gate_survives_reopen(tmp_path: Path) -> None:
    await _gate_survives_reopen(str(tmp_path / "cp.sqlite"))


def _postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.mark.skipif(not _postgres_reachable(), reason="no PostgreSQL on 127.0.0.1:5432")
async def test_postgres_gate_survives_reopen() -> None:
    await _gate_survives_reopen(PG_URL)
