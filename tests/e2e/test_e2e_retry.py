"""Retries on a real server: node retries, then RETRY_SCHEDULED and a resume by itself;
GRAPHYARD_MAX_RUN_RETRIES; hard errors; POST retry of a FAILED run (API.md sections 3, 4).

One server for the module, with a short backoff (0.2 s) and one run-level retry.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from e2e_kit import Event, Server, chain, shutdown, tool_node

NODE_RETRY = {"max_attempts": 2, "initial_interval_seconds": 0.05, "backoff_factor": 1}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    instance = Server(
        tmp_path_factory.mktemp("retry"),
        {"GRAPHYARD_RETRY_BASE_SECONDS": "0.2", "GRAPHYARD_MAX_RUN_RETRIES": "1"},
    )
    instance.start()
    yield instance
    shutdown(instance)


def three(workflow_id: str, middle: dict[str, Any]) -> dict[str, Any]:
    return chain(workflow_id, [tool_node("a"), middle, tool_node("c")])


def statuses(events: list[Event]) -> list[str]:
    return [e.data["status"] for e in events if e.type == "run.status"]


def test_retryable_failures_schedule_a_run_retry_then_complete(server: Server, tag: str) -> None:
    # Two node attempts per pass; the tool fails three times: pass 1 uses up both
    # attempts (RETRY_SCHEDULED), pass 2 fails once more and then succeeds.
    flaky = tool_node("f", "flaky", inputs={"failures": 3}, retry=NODE_RETRY)
    server.create_workflow(three(f"rt-{tag}", flaky))
    run_id = server.start_run(f"rt-{tag}", {"tag": tag})["run_id"]

    run = server.wait_for(run_id, timeout=20)

    assert run["status"] == "COMPLETED", run
    assert run["error"] is None and run["finished_at"], run
    assert server.effects(tag) == ["a", "f-fail", "f-fail", "f-fail", "f", "c"]
    events = server.events(run_id)
    assert statuses(events) == ["RUNNING", "RETRY_SCHEDULED", "RUNNING", "COMPLETED"]
    scheduled = next(e.data for e in events if e.data.get("status") == "RETRY_SCHEDULED")
    assert scheduled["error"]["code"] == "retryable_error"
    assert scheduled["error"]["node_id"] == "f"
    retrying = [e.data for e in events if e.type == "node.retrying"]
    assert [r["attempt"] for r in retrying] == [2, 2] and all(r["node_id"] == "f" for r in retrying)
    assert [e.data["node_id"] for e in events if e.type == "node.completed"] == ["a", "f", "c"]
    assert server.node_states(run_id) == dict.fromkeys(["a", "f", "c"], "COMPLETED")


def test_retry_scheduled_is_visible_then_resumes(server: Server, tag: str) -> None:
    flaky = tool_node("f", "flaky", inputs={"failures": 1})
    server.create_workflow(three(f"rv-{tag}", flaky))
    run_id = server.start_run(f"rv-{tag}", {"tag": tag})["run_id"]

    scheduled = server.wait_for(run_id, ("RETRY_SCHEDULED", "COMPLETED", "FAILED"), timeout=10)

    assert scheduled["status"] == "RETRY_SCHEDULED", scheduled
    assert scheduled["error"]["code"] == "retryable_error", scheduled
    assert server.wait_for(run_id, timeout=20)["status"] == "COMPLETED"
    assert server.effects(tag) == ["a", "f-fail", "f", "c"]


def test_run_retries_are_limited(server: Server, tag: str) -> None:
    down = tool_node("f", "always_retryable", retry=NODE_RETRY)
    server.create_workflow(three(f"rl-{tag}", down))
    run_id = server.start_run(f"rl-{tag}", {"tag": tag})["run_id"]

    run = server.wait_for(run_id, timeout=20)

    assert run["status"] == "FAILED", run
    assert run["error"]["code"] == "retryable_error" and run["error"]["node_id"] == "f", run
    assert server.effects(tag) == ["a"] + ["f-fail"] * 4  # 2 passes x 2 attempts
    assert statuses(server.events(run_id)) == ["RUNNING", "RETRY_SCHEDULED", "RUNNING", "FAILED"]
    assert server.node_states(run_id)["c"] == "PENDING"


def test_hard_error_fails_at_once(server: Server, tag: str) -> None:
    broken = tool_node("h", "hard_fail", retry={"max_attempts": 3})
    server.create_workflow(three(f"hd-{tag}", broken))

    run = server.start_run(f"hd-{tag}", {"tag": tag}, wait=True)

    assert run["status"] == "FAILED", run
    assert run["error"]["code"] == "broken_tool" and run["error"]["node_id"] == "h", run
    assert run["error"]["message"] == "h cannot work"
    assert server.effects(tag) == ["a", "h-fail"]
    assert statuses(server.events(run["run_id"])) == ["RUNNING", "FAILED"]
    states = server.status(run["run_id"])["node_states"]
    failed = next(s for s in states if s["node_id"] == "h")
    assert failed["status"] == "FAILED" and failed["attempts"] == 1, failed
    assert failed["error"]["code"] == "broken_tool", failed


def test_post_retry_continues_a_failed_run(server: Server, tag: str) -> None:
    gated = tool_node("g", "needs_flag")
    server.create_workflow(three(f"pr-{tag}", gated))
    run = server.start_run(f"pr-{tag}", {"tag": tag}, wait=True)
    assert run["status"] == "FAILED", run

    server.set_flag(tag, "g")
    response = server.action(run["run_id"], "retry")

    assert response.status_code == 202, response.text
    assert response.json()["status"] in ("RUNNING", "QUEUED")
    done = server.wait_for(run["run_id"])
    assert done["status"] == "COMPLETED", done
    assert done["error"] is None, done
    assert server.effects(tag) == ["a", "g-fail", "g", "c"]
    assert server.node_states(run["run_id"]) == dict.fromkeys(["a", "g", "c"], "COMPLETED")
    assert server.action(run["run_id"], "retry").status_code == 400


def test_a_failing_branch_stops_its_running_sibling(server: Server, tag: str) -> None:
    nodes = [{"id": "fork", "type": "parallel"}, tool_node("h", "hard_fail", inputs={}),
             tool_node("s", "block"), {"id": "join", "type": "join"}]
    edges = [{"from": "fork", "to": "h"}, {"from": "fork", "to": "s"},
             {"from": "h", "to": "join"}, {"from": "s", "to": "join"}]
    server.create_workflow({"id": f"sb-{tag}", "nodes": nodes, "edges": edges})
    run_id = server.start_run(f"sb-{tag}", {"tag": tag})["run_id"]

    run = server.wait_for(run_id, timeout=10)

    assert run["status"] == "FAILED" and run["error"]["node_id"] == "h", run
    server.set_flag(tag, "s")
    time.sleep(0.5)
    assert "s" not in server.effects(tag)
    states = server.node_states(run_id)
    assert states["h"] == "FAILED" and states["join"] == "PENDING", states
    assert states["s"] in ("CANCELLED", "PENDING"), states  # stopped: not left RUNNING
