"""Cancel, pause, resume (also from a chosen checkpoint) and the error codes of run actions,
against a real server, with nodes in the middle of their work (API.md section 3)."""

from __future__ import annotations

import time
from typing import Any

import httpx
from e2e_kit import Server, chain, tool_node

LIMIT = 1.0  # API.md: cancel and pause take effect within one second


def delay_flow(workflow_id: str) -> dict[str, Any]:
    """a, then the built-in `delay` for 30 s, then c."""
    wait = {"id": "w", "type": "tool_call", "tool": "delay", "inputs": {"seconds": 30}}
    return chain(workflow_id, [tool_node("a"), wait, tool_node("c")])


def block_flow(workflow_id: str) -> dict[str, Any]:
    """a, then w that waits for its flag (it records `w-start` first), then c."""
    return chain(workflow_id, [tool_node("a"), tool_node("w", "block"), tool_node("c")])


def timed(call: Any) -> tuple[httpx.Response, float]:
    started = time.monotonic()
    response = call()
    return response, time.monotonic() - started


def error_of(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, (response.status_code, response.text)
    body = response.json()
    assert set(body) == {"error", "message", "details"}, body
    return str(body["error"])


def test_cancel_mid_node_is_quick_and_final(server: Server, tag: str) -> None:
    server.create_workflow(delay_flow(f"cx-{tag}"))
    run_id = server.start_run(f"cx-{tag}", {"tag": tag})["run_id"]
    server.wait_node(run_id, "w", "RUNNING")

    started = time.monotonic()
    response = server.action(run_id, "cancel")
    seen = server.run(run_id)
    took = time.monotonic() - started

    assert response.status_code == 200, response.text
    assert response.json()["status"] == "CANCELLED" and response.json()["cancelled_at"]
    assert seen["status"] == "CANCELLED" and seen["finished_at"], seen
    assert took < LIMIT, f"cancel took {took:.2f} s"
    time.sleep(1.5)  # long enough for c to start if anything were still going
    assert server.run(run_id)["status"] == "CANCELLED"
    assert server.node_states(run_id) == {"a": "COMPLETED", "w": "CANCELLED", "c": "PENDING"}
    assert server.effects(tag) == ["a"]
    events = server.events(run_id)  # a cancelled run's stream replays and closes
    assert events[-1].type == "run.status" and events[-1].data["status"] == "CANCELLED"
    assert not [e for e in events if e.type == "node.started" and e.data["node_id"] == "c"]
    assert error_of(server.action(run_id, "cancel"), 400) == "bad_request"


def test_pause_mid_delay_is_quick(server: Server, tag: str) -> None:
    server.create_workflow(delay_flow(f"px-{tag}"))
    run_id = server.start_run(f"px-{tag}", {"tag": tag})["run_id"]
    server.wait_node(run_id, "w", "RUNNING")

    started = time.monotonic()
    response = server.action(run_id, "pause")
    seen = server.run(run_id)
    took = time.monotonic() - started

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["status"] == "PAUSED" and body["paused_at"] and body["checkpoint_id"], body
    assert seen["status"] == "PAUSED", seen
    assert took < LIMIT, f"pause took {took:.2f} s"
    assert server.node_states(run_id) == {"a": "COMPLETED", "w": "PENDING", "c": "PENDING"}
    # A paused run can still be cancelled.
    assert server.action(run_id, "cancel").status_code == 200
    assert server.run(run_id)["status"] == "CANCELLED"


def test_pause_then_resume_runs_no_completed_node_again(server: Server, tag: str) -> None:
    server.create_workflow(block_flow(f"pr-{tag}"))
    run_id = server.start_run(f"pr-{tag}", {"tag": tag})["run_id"]
    server.wait_effect(tag, "w-start")

    response, took = timed(lambda: server.action(run_id, "pause"))
    assert response.status_code == 200 and took < LIMIT, (response.text, took)
    assert server.run(run_id)["status"] == "PAUSED"
    time.sleep(0.5)
    assert server.run(run_id)["status"] == "PAUSED"
    assert error_of(server.action(run_id, "pause"), 400) == "bad_request"
    assert error_of(server.action(run_id, "execute"), 400) == "bad_request"

    server.set_flag(tag, "w")
    resumed = server.action(run_id, "resume")
    assert resumed.status_code == 202, resumed.text
    assert resumed.json()["status"] in ("RUNNING", "QUEUED") and resumed.json()["resumed_at"]
    run = server.wait_for(run_id)

    assert run["status"] == "COMPLETED", run
    assert server.effects(tag) == ["a", "w-start", "w-start", "w", "c"]
    events = server.events(run_id)
    statuses = [e.data["status"] for e in events if e.type == "run.status"]
    assert statuses == ["RUNNING", "PAUSED", "RUNNING", "COMPLETED"]
    assert [e.data["node_id"] for e in events if e.type == "node.completed"] == ["a", "w", "c"]


def test_resume_from_a_checkpoint_of_the_history(server: Server, tag: str) -> None:
    server.create_workflow(block_flow(f"rc-{tag}"))
    run_id = server.start_run(f"rc-{tag}", {"tag": tag})["run_id"]
    server.wait_effect(tag, "w-start")
    assert server.action(run_id, "pause").status_code == 200

    history = server.http.get(server.runs(f"/{run_id}/checkpoints")).json()["items"]
    before_w = next(item for item in history if item["next"] == ["w"])
    missing = server.action(run_id, "resume", {"checkpoint_id": "no-such-checkpoint"})
    assert error_of(missing, 404) == "not_found"
    assert server.run(run_id)["status"] == "PAUSED"

    server.set_flag(tag, "w")
    resumed = server.action(run_id, "resume", {"checkpoint_id": before_w["checkpoint_id"]})
    assert resumed.status_code == 202, resumed.text
    run = server.wait_for(run_id)

    assert run["status"] == "COMPLETED", run
    assert server.effects(tag) == ["a", "w-start", "w-start", "w", "c"]


def test_resume_from_the_first_checkpoint_runs_everything_again(server: Server, tag: str) -> None:
    server.create_workflow(block_flow(f"rf-{tag}"))
    run_id = server.start_run(f"rf-{tag}", {"tag": tag})["run_id"]
    server.wait_effect(tag, "w-start")
    assert server.action(run_id, "pause").status_code == 200
    history = server.http.get(server.runs(f"/{run_id}/checkpoints")).json()["items"]
    before_a = next(item for item in history if item["next"] == ["a"])

    server.set_flag(tag, "w")
    resumed = server.action(run_id, "resume", {"checkpoint_id": before_a["checkpoint_id"]})
    assert resumed.status_code == 202, resumed.text
    run = server.wait_for(run_id)

    assert run["status"] == "COMPLETED", run
    assert server.effects(tag) == ["a", "w-start", "a", "w-start", "w", "c"]


def test_error_codes_of_actions(server: Server, tag: str) -> None:
    server.create_workflow(block_flow(f"ec-{tag}"))
    server.create_workflow(chain(f"ok-{tag}", [tool_node("a")]))
    done = server.start_run(f"ok-{tag}", {"tag": tag}, wait=True)["run_id"]
    assert server.run(done)["status"] == "COMPLETED"
    pending = server.start_run(f"ok-{tag}", {"tag": tag}, execute=False)["run_id"]
    running = server.start_run(f"ec-{tag}", {"tag": tag})["run_id"]
    server.wait_effect(tag, "w-start")

    assert error_of(server.action(done, "cancel"), 400) == "bad_request"
    assert error_of(server.action(done, "pause"), 400) == "bad_request"
    assert error_of(server.action(pending, "pause"), 400) == "bad_request"
    assert error_of(server.action(done, "resume"), 400) == "bad_request"
    assert error_of(server.action(running, "resume"), 400) == "bad_request"
    assert error_of(server.action(running, "execute"), 400) == "bad_request"
    assert error_of(server.action(done, "execute"), 409) == "conflict"
    assert error_of(server.action(done, "retry"), 400) == "bad_request"
    assert error_of(server.action(running, "retry"), 400) == "bad_request"
    assert error_of(server.action("no-such-run", "execute"), 404) == "not_found"
    assert error_of(server.action("no-such-run", "cancel"), 404) == "not_found"
    assert server.run(running)["status"] == "RUNNING"

    assert server.action(running, "cancel").status_code == 200
    assert error_of(server.action(running, "execute"), 409) == "conflict"
    executed = server.action(pending, "execute")
    assert executed.status_code == 202 and executed.json()["status"] in ("RUNNING", "QUEUED")
    assert server.wait_for(pending)["status"] == "COMPLETED"


def test_wait_gives_up_after_timeout_seconds(server: Server, tag: str) -> None:
    server.create_workflow(block_flow(f"wt-{tag}"))

    started = time.monotonic()
    run = server.start_run(f"wt-{tag}", {"tag": tag}, wait=True, timeout=1)
    took = time.monotonic() - started

    assert run["status"] == "RUNNING", run  # the run as it then is
    assert 1 <= took < 3, took
    assert server.action(run["run_id"], "cancel").status_code == 200
