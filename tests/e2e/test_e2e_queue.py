"""Execution slots on a real server (GRAPHYARD_MAX_CONCURRENT_RUNS=1): a run that finds no
free slot is QUEUED, can be paused, resumed and cancelled there, and starts once a slot
frees up (API.md section 3)."""

from __future__ import annotations

from e2e_kit import MakeServer, chain, tool_node


def test_runs_wait_for_a_free_slot(make_server: MakeServer, tag: str) -> None:
    server = make_server(GRAPHYARD_MAX_CONCURRENT_RUNS="1")
    server.start()
    server.create_workflow(chain(f"sl-{tag}", [tool_node("hold", "block")]))
    server.create_workflow(chain(f"qu-{tag}", [tool_node("q")]))
    holder = server.start_run(f"sl-{tag}", {"tag": tag})["run_id"]
    server.wait_effect(tag, "hold-start")

    queued = server.start_run(f"qu-{tag}", {"tag": tag})
    dropped = server.start_run(f"qu-{tag}", {"tag": tag}, execute=False)
    executed = server.action(dropped["run_id"], "execute")

    assert queued["status"] == "QUEUED", queued
    assert executed.status_code == 202 and executed.json()["status"] == "QUEUED", executed.text
    paused = server.action(queued["run_id"], "pause")
    assert paused.status_code == 200 and server.run(queued["run_id"])["status"] == "PAUSED"
    resumed = server.action(queued["run_id"], "resume")
    assert resumed.status_code == 202 and resumed.json()["status"] == "QUEUED", resumed.text
    assert server.action(dropped["run_id"], "cancel").status_code == 200
    assert server.run(queued["run_id"])["status"] == "QUEUED"
    assert server.effects(tag) == ["hold-start"]

    server.set_flag(tag, "hold")

    assert server.wait_for(holder)["status"] == "COMPLETED"
    assert server.wait_for(queued["run_id"])["status"] == "COMPLETED"
    assert server.run(dropped["run_id"])["status"] == "CANCELLED"
    assert server.effects(tag) == ["hold-start", "hold", "q"]
    statuses = [e.data["status"] for e in server.events(queued["run_id"])
                if e.type == "run.status"]
    assert statuses == ["QUEUED", "PAUSED", "QUEUED", "RUNNING", "COMPLETED"], statuses
