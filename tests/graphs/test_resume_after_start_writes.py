"""A process killed right after a step's task writes were saved, before the step's own
checkpoint: the graph has not moved on although `next` is empty. Resuming must run the
whole workflow, not report it COMPLETED with nothing done (seen in the kill -9 drill)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from graphs_testkit import log_lines, record_node, start_run
from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.registry import Registry
from graphs.runner import drive, has_work_left, run_config


def _keep_only_the_input_checkpoint(db: Path, run_id: str) -> None:
    """Leave the run as a kill after its start task's writes leaves it: the first
    checkpoint (step -1) and the writes made against it, nothing later."""
    conn = sqlite3.connect(db)
    first = conn.execute(
        "SELECT checkpoint_id FROM checkpoints WHERE thread_id = ? ORDER BY checkpoint_id LIMIT 1",
        (run_id,),
    ).fetchone()[0]
    conn.execute(
        "DELETE FROM checkpoints WHERE thread_id = ? AND checkpoint_id != ?", (run_id, first)
    )
    conn.execute("DELETE FROM writes WHERE thread_id = ? AND checkpoint_id != ?", (run_id, first))
    conn.commit()
    conn.close()


async def test_a_run_killed_after_its_start_writes_runs_every_node_on_resume(
    registry: Registry, saver: BaseCheckpointSaver[Any], tmp_path: Path, log: Path
) -> None:
    definition = {"id": "w", "steps": [record_node(n, log) for n in ("a", "b", "c")]}
    run = await start_run(definition, registry, saver, run_id="killed")
    assert run.result.status == "COMPLETED" and log_lines(log) == ["a", "b", "c"]
    assert not has_work_left(await run.workflow.graph.aget_state(run_config("killed")))

    _keep_only_the_input_checkpoint(tmp_path / "cp.sqlite", "killed")
    snapshot = await run.workflow.graph.aget_state(run_config("killed"))
    assert snapshot.values and not snapshot.next  # what fooled the resume before
    assert has_work_left(snapshot)

    events: list[dict[str, Any]] = []

    async def sink(event: dict[str, Any]) -> None:
        events.append(event)

    result = await drive(run.workflow, "killed", None, sink)
    assert result.status == "COMPLETED"
    assert [e["node_id"] for e in events if e["type"] == "node.completed"] == ["a", "b", "c"]
    assert set(result.output or {}) == {"c"}
