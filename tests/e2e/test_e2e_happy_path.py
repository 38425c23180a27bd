"""The happy path over real HTTP: workflows as JSON and YAML, a run to COMPLETED, its
status, the execution history and the checkpoints (API.md sections 2 and 3)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from e2e_kit import Server, chain, tool_node

RUN_FIELDS = {
    "run_id", "project_id", "workflow_id", "workflow_version", "status", "input", "output",
    "error", "created_at", "started_at", "finished_at", "progress", "usage",
}
NODE_STATE_FIELDS = {"node_id", "status", "progress", "attempts", "started_at", "completed_at",
                     "error"}
STATUS_FIELDS = {"run_id", "status", "progress", "current_node", "started_at",
                 "estimated_completion", "node_states"}


def ts(value: str) -> datetime:
    return datetime.fromisoformat(value)


def three_steps(workflow_id: str) -> dict[str, Any]:
    echo = {"id": "b", "type": "tool_call", "tool": "echo", "inputs": {"value": "$a.name"}}
    return chain(
        workflow_id,
        [tool_node("a"), echo, tool_node("c")],
        description="a, echo, c",
        output={"first": "$a.name", "echoed": "$b", "last": "$c"},
    )


def test_json_workflow_runs_to_completed(server: Server, tag: str) -> None:
    stored = server.create_workflow(three_steps(f"json-{tag}"))
    assert stored["id"] == f"json-{tag}" and stored["version"] == 1
    assert {"id", "version", "name", "description", "definition", "created_at",
            "updated_at"} <= set(stored)

    run = server.start_run(f"json-{tag}", {"tag": tag}, wait=True)

    assert RUN_FIELDS <= set(run), RUN_FIELDS - set(run)
    assert run["status"] == "COMPLETED", run
    assert run["output"] == {"first": "a", "echoed": "a", "last": {"name": "c"}}
    assert run["error"] is None
    assert run["progress"] == 1.0
    assert run["workflow_id"] == f"json-{tag}" and run["workflow_version"] == 1
    assert run["project_id"] == "default" and run["input"] == {"tag": tag}
    assert {"input_tokens", "output_tokens", "cost_usd"} <= set(run["usage"])
    assert ts(run["created_at"]) <= ts(run["started_at"]) <= ts(run["finished_at"])
    assert server.run(run["run_id"]) == run
    assert server.effects(tag) == ["a", "c"]


def test_status_has_one_state_per_node(server: Server, tag: str) -> None:
    server.create_workflow(three_steps(f"st-{tag}"))
    run = server.start_run(f"st-{tag}", {"tag": tag}, wait=True)
    assert run["status"] == "COMPLETED", run

    status = server.status(run["run_id"])

    assert STATUS_FIELDS <= set(status), STATUS_FIELDS - set(status)
    assert status["status"] == "COMPLETED" and status["progress"] == 1.0
    states = status["node_states"]
    assert [s["node_id"] for s in states] == ["a", "b", "c"]
    for state in states:
        assert NODE_STATE_FIELDS <= set(state), state
        assert state["status"] == "COMPLETED" and state["progress"] == 1.0, state
        assert state["attempts"] == 1 and state["error"] is None, state
        assert ts(state["started_at"]) <= ts(state["completed_at"]), state


def test_yaml_workflow_in_steps_form(server: Server, tag: str) -> None:
    yaml_body = f"""
id: yaml-{tag}
name: From YAML
description: steps, sent as application/yaml
steps:
  - {{id: first, type: tool_call, tool: record, inputs: {{tag: $input.tag, name: first}}}}
  - id: second
    type: tool_call
    tool: record
    inputs:
      tag: $input.tag
      name: "after {{{{ $first.name }}}}"
"""
    response = server.http.post(
        server.api("/workflows"),
        content=yaml_body.encode(),
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 201, response.text
    assert response.json()["name"] == "From YAML"

    run = server.start_run(f"yaml-{tag}", {"tag": tag}, wait=True)

    assert run["status"] == "COMPLETED", run
    assert run["output"] == {"second": {"name": "after first"}}
    assert server.effects(tag) == ["first", "after first"]


def test_history_newest_first_and_filtered(server: Server, tag: str) -> None:
    server.create_workflow(chain(f"h1-{tag}", [tool_node("a")]))
    server.create_workflow(chain(f"h2-{tag}", [tool_node("a")]))
    first = server.start_run(f"h1-{tag}", {"tag": tag}, wait=True)
    other = server.start_run(f"h2-{tag}", {"tag": tag}, wait=True)
    pending = server.start_run(f"h1-{tag}", {"tag": tag}, execute=False)
    assert pending["status"] == "PENDING"

    everything = server.http.get(server.runs(), params={"limit": 500}).json()
    created = [ts(r["created_at"]) for r in everything["items"]]
    assert created == sorted(created, reverse=True)
    ids = [r["run_id"] for r in everything["items"]]
    assert ids.index(pending["run_id"]) < ids.index(other["run_id"]) < ids.index(first["run_id"])
    assert everything["total"] >= 3

    mine = server.http.get(server.runs(), params={"workflow_id": f"h1-{tag}"}).json()
    assert [r["run_id"] for r in mine["items"]] == [pending["run_id"], first["run_id"]]
    assert mine["total"] == 2

    done = server.http.get(
        server.runs(), params={"workflow_id": f"h1-{tag}", "status": "COMPLETED"}
    ).json()
    assert [r["run_id"] for r in done["items"]] == [first["run_id"]] and done["total"] == 1
    waiting = server.http.get(server.runs(), params={"status": "PENDING"}).json()
    assert pending["run_id"] in [r["run_id"] for r in waiting["items"]]
    assert all(r["status"] == "PENDING" for r in waiting["items"])

    page = server.http.get(server.runs(), params={"limit": 1, "offset": 1}).json()
    assert [r["run_id"] for r in page["items"]] == ids[1:2]


def test_checkpoints_newest_first(server: Server, tag: str) -> None:
    server.create_workflow(three_steps(f"cp-{tag}"))
    run = server.start_run(f"cp-{tag}", {"tag": tag}, wait=True)
    assert run["status"] == "COMPLETED", run

    response = server.http.get(server.runs(f"/{run['run_id']}/checkpoints"))

    assert response.status_code == 200, response.text
    items = response.json()["items"]
    assert len(items) >= 4  # input, then a, b, c (and the output) one superstep each
    for item in items:
        assert {"checkpoint_id", "step", "created_at", "next"} <= set(item), item
    steps = [item["step"] for item in items]
    assert steps == sorted(steps, reverse=True) and len(set(steps)) == len(steps)
    created = [ts(item["created_at"]) for item in items]
    assert created == sorted(created, reverse=True)
    assert items[0]["next"] == []  # the newest: nothing left to do
    nexts = [item["next"] for item in items]
    assert ["a"] in nexts and ["b"] in nexts and ["c"] in nexts
    assert nexts.index(["c"]) < nexts.index(["b"]) < nexts.index(["a"])
