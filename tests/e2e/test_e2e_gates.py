"""Human gates on a real server: racing decisions (exactly one wins), gates in parallel
branches decided one at a time, and a gate decided while another branch still works."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from typing import Any

import httpx
from e2e_kit import TOKEN, Event, Server, assert_contiguous, tool_node, wait_until

RACERS = 20


def parallel_gates(workflow_id: str, third: dict[str, Any] | None = None) -> dict[str, Any]:
    """fork -> (g1, g2[, third]) -> join -> done."""
    branches = ["g1", "g2"] + ([third["id"]] if third else [])
    nodes = [
        {"id": "fork", "type": "parallel"},
        {"id": "g1", "type": "human_gate", "prompt": "first?"},
        {"id": "g2", "type": "human_gate", "prompt": "second?"},
        *([third] if third else []),
        {"id": "join", "type": "join"},
        tool_node("done"),
    ]
    edges = [
        *[{"from": "fork", "to": b} for b in branches],
        *[{"from": b, "to": "join"} for b in branches],
        {"from": "join", "to": "done"},
    ]
    return {"id": workflow_id, "nodes": nodes, "edges": edges}


async def race_decisions(server: Server, run_id: str, gate_id: str) -> list[httpx.Response]:
    url = server.runs(f"/{run_id}/gates/{gate_id}/decision")
    limits = httpx.Limits(max_connections=RACERS)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, limits=limits,
        timeout=30,
    ) as client:
        return list(await asyncio.gather(*[
            client.post(url, json={"decision": "approve", "comment": f"racer {i}"})
            for i in range(RACERS)
        ]))


async def test_racing_decisions_have_one_winner(server: Server, tag: str) -> None:
    definition = {
        "id": f"race-{tag}",
        "steps": [{"id": "g", "type": "human_gate", "prompt": "ok?"}, tool_node("after")],
    }
    await asyncio.to_thread(server.create_workflow, definition)
    run = await asyncio.to_thread(server.start_run, f"race-{tag}", {"tag": tag}, wait=True)
    assert run["status"] == "WAITING", run

    responses = await race_decisions(server, run["run_id"], "g")

    codes = Counter(r.status_code for r in responses)
    assert codes == {200: 1, 409: RACERS - 1}, codes
    winner = next(r.json() for r in responses if r.status_code == 200)
    assert winner["status"] == "APPROVED" and winner["decided_by"] == "admin"
    for loser in (r for r in responses if r.status_code == 409):
        assert loser.json()["error"] == "conflict"
    done = await asyncio.to_thread(server.wait_for, run["run_id"])
    assert done["status"] == "COMPLETED", done
    gate = (await asyncio.to_thread(server.gates, run["run_id"]))["g"]
    assert gate["status"] == "APPROVED" and gate["comment"] == winner["comment"]
    assert server.effects(tag) == ["after"]
    events = await asyncio.to_thread(server.events, run["run_id"])
    assert sum(e.type == "gate.decided" for e in events) == 1
    assert [e.data["status"] for e in events if e.type == "run.status"] == [
        "RUNNING", "WAITING", "RUNNING", "COMPLETED"
    ]


def waiting_after(node_id: str) -> Callable[[list[Event]], bool]:
    """Has the run stopped WAITING again after gate `node_id` completed?"""

    def done(events: list[Event]) -> bool:
        ends = [i for i, e in enumerate(events)
                if e.type == "node.completed" and e.data["node_id"] == node_id]
        return bool(ends) and any(
            e.type == "run.status" and e.data["status"] == "WAITING" for e in events[ends[0]:]
        )

    return done


def test_parallel_gates_are_decided_one_at_a_time(server: Server, tag: str) -> None:
    server.create_workflow(parallel_gates(f"pg-{tag}"))
    run = server.start_run(f"pg-{tag}", {"tag": tag}, wait=True)
    run_id = run["run_id"]
    assert run["status"] == "WAITING", run
    gates = server.gates(run_id)
    assert {g: gates[g]["status"] for g in gates} == {"g1": "WAITING", "g2": "WAITING"}
    assert gates["g1"]["payload"]["prompt"] == "first?"
    assert gates["g2"]["payload"]["prompt"] == "second?"
    assert server.node_states(run_id)["g1"] == "WAITING"

    assert server.decide(run_id, "g1").status_code == 200
    server.events_until(run_id, waiting_after("g1"))

    gates = server.gates(run_id)
    assert gates["g1"]["status"] == "APPROVED" and gates["g2"]["status"] == "WAITING"
    assert server.run(run_id)["status"] == "WAITING"
    states = server.node_states(run_id)
    assert states["g1"] == "COMPLETED" and states["g2"] == "WAITING", states
    assert states["join"] == "PENDING" and server.effects(tag) == []

    assert server.decide(run_id, "g2", "approve").status_code == 200
    done = server.wait_for(run_id)

    assert done["status"] == "COMPLETED", done
    assert server.effects(tag) == ["done"]
    assert set(server.node_states(run_id).values()) == {"COMPLETED"}
    events = server.events(run_id)
    assert_contiguous(events)
    assert sorted(e.data["gate_id"] for e in events if e.type == "gate.waiting") == ["g1", "g2"]
    assert sorted(e.data["gate_id"] for e in events if e.type == "gate.decided") == ["g1", "g2"]


def test_a_gate_can_be_decided_while_another_branch_works(server: Server, tag: str) -> None:
    server.create_workflow(parallel_gates(f"gw-{tag}", tool_node("slow", "block")))
    run_id = server.start_run(f"gw-{tag}", {"tag": tag})["run_id"]
    server.wait_effect(tag, "slow-start")
    wait_until(lambda: set(server.gates(run_id)) == {"g1", "g2"}, 10,
               lambda: f"gates: {server.gates(run_id)}")

    decided = server.decide(run_id, "g1")

    assert decided.status_code == 200, decided.text
    assert server.run(run_id)["status"] == "RUNNING"
    server.set_flag(tag, "slow")
    server.events_until(run_id, waiting_after("g1"))
    gates = server.gates(run_id)
    assert gates["g1"]["status"] == "APPROVED" and gates["g2"]["status"] == "WAITING"
    assert server.run(run_id)["status"] == "WAITING"
    assert server.decide(run_id, "g2").status_code == 200
    assert server.wait_for(run_id)["status"] == "COMPLETED"
    assert server.effects(tag) == ["slow-start", "slow", "done"]


def test_a_waiting_run_can_be_cancelled_and_its_gate_not_decided(server: Server, tag: str) -> None:
    definition = {"id": f"cw-{tag}",
                  "steps": [{"id": "g", "type": "human_gate"}, tool_node("after")]}
    server.create_workflow(definition)
    run = server.start_run(f"cw-{tag}", {"tag": tag}, wait=True)
    assert run["status"] == "WAITING", run

    assert server.action(run["run_id"], "cancel").status_code == 200

    late = server.decide(run["run_id"], "g")
    assert late.status_code == 409 and late.json()["error"] == "conflict", late.text
    assert server.run(run["run_id"])["status"] == "CANCELLED"
    unknown = server.decide(run["run_id"], "nope")
    assert unknown.status_code == 404, unknown.text
    assert server.effects(tag) == []


def test_a_rejection_fails_the_run(server: Server, tag: str) -> None:
    server.create_workflow({"id": f"rj-{tag}", "steps": [
        {"id": "g", "type": "human_gate", "prompt": "ok?"}, tool_node("after")]})
    run = server.start_run(f"rj-{tag}", {"tag": tag}, wait=True)
    assert run["status"] == "WAITING", run

    decided = server.decide(run["run_id"], "g", "reject")

    assert decided.status_code == 200 and decided.json()["status"] == "REJECTED", decided.text
    failed = server.wait_for(run["run_id"])
    assert failed["status"] == "FAILED", failed
    assert failed["error"]["code"] == "gate_rejected" and failed["error"]["node_id"] == "g"
    assert server.effects(tag) == []
    assert server.node_states(run["run_id"]) == {"g": "FAILED", "after": "PENDING"}


async def test_progress_counts_ended_nodes_while_a_gate_waits(server: Server, tag: str) -> None:
    """Run progress is the share of nodes that ended: 2 of 4 before the gate, then all."""
    definition = {
        "id": f"progress-{tag}",
        "steps": [
            tool_node("a"),
            tool_node("b"),
            {"id": "g", "type": "human_gate", "prompt": "ok?"},
            tool_node("c"),
        ],
    }
    await asyncio.to_thread(server.create_workflow, definition)
    run = await asyncio.to_thread(server.start_run, f"progress-{tag}", {"tag": tag}, wait=True)
    assert run["status"] == "WAITING" and run["progress"] == 0.5, run
    status = await asyncio.to_thread(server.status, run["run_id"])
    assert status["progress"] == 0.5, status
    assert (await asyncio.to_thread(server.decide, run["run_id"], "g")).status_code == 200
    done = await asyncio.to_thread(server.wait_for, run["run_id"])
    assert done["status"] == "COMPLETED" and done["progress"] == 1.0, done
