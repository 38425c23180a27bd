"""Limits a run is held to on a real server: the workflow's max_execution_time_seconds, and
input that does not match its input_schema (API.md sections 3 and 5)."""

from __future__ import annotations

import time

from e2e_kit import Server, chain, tool_node


def test_max_execution_time_fails_the_run_with_timeout(server: Server, tag: str) -> None:
    wait = {"id": "w", "type": "tool_call", "tool": "delay", "inputs": {"seconds": 20}}
    server.create_workflow(
        chain(f"to-{tag}", [tool_node("a"), wait, tool_node("c")],
              settings={"max_execution_time_seconds": 1})
    )

    started = time.monotonic()
    run = server.start_run(f"to-{tag}", {"tag": tag}, wait=True, timeout=15)
    took = time.monotonic() - started

    assert run["status"] == "FAILED", run
    assert run["error"]["code"] == "timeout", run
    assert run["finished_at"], run
    assert took < 5, f"the 1 s limit ended the run after {took:.1f} s"
    time.sleep(0.5)
    assert server.effects(tag) == ["a"]
    states = server.node_states(run["run_id"])
    assert states["a"] == "COMPLETED" and states["c"] == "PENDING", states
    assert states["w"] in ("CANCELLED", "FAILED"), states  # stopped: not left RUNNING
    events = server.events(run["run_id"])
    assert events[-1].data == {**events[-1].data, "type": "run.status", "status": "FAILED"}


def test_input_must_match_the_input_schema(server: Server, tag: str) -> None:
    schema = {"type": "object", "properties": {"query": {"type": "string"}},
              "required": ["query"]}
    echo = {"id": "e", "type": "tool_call", "tool": "echo", "inputs": {"value": "$input.query"}}
    server.create_workflow(chain(f"in-{tag}", [echo], input_schema=schema))

    for bad in ({}, {"query": 5}):
        response = server.http.post(server.runs(), json={"workflow_id": f"in-{tag}",
                                                         "input": bad, "execute": True})
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["error"] == "invalid_input", body
        assert body["message"] and body["details"]["errors"], body
    listed = server.http.get(server.runs(), params={"workflow_id": f"in-{tag}"}).json()
    assert listed["total"] == 0, listed  # a refused run is not stored

    pending = server.start_run(f"in-{tag}", {"query": "ok"}, execute=False)
    refused = server.action(pending["run_id"], "execute", {"input_data": {"query": 1}})
    assert refused.status_code == 422 and refused.json()["error"] == "invalid_input"
    assert server.run(pending["run_id"])["status"] == "PENDING"

    started = server.action(pending["run_id"], "execute", {"input_data": {"query": "hotels"}})
    assert started.status_code == 202, started.text
    run = server.wait_for(pending["run_id"])
    assert run["status"] == "COMPLETED" and run["output"] == {"e": "hotels"}, run
    assert run["input"] == {"query": "hotels"}
