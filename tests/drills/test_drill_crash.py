"""Crash drill (issue 4): 20 runs in flight (some blocked on a flag file in one branch of a
fan-out, some sleeping, some still queued for a slot), kill -9 of the server, restart.
Every run completes by itself, no node that completed before the kill does its work again
(counted in the side-effect file), and every run's event ids run 1, 2, 3 ... with no gap
and no repeat."""

from __future__ import annotations

from collections import Counter

import pytest
from drills_kit import DrillServer, Event, MakeServer, new_tag, tool_node, wait_until

pytestmark = pytest.mark.slow

BLOCKING_RUNS = 10
SLEEPING_RUNS = 10
SLOTS = 16  # the default GRAPHYARD_MAX_CONCURRENT_RUNS: the last 4 runs wait in the queue
SLEEP_SECONDS = 5.0  # long enough to be mid-sleep at the kill, on a busy machine too

BLOCKING = {
    "id": "crash-block",
    "nodes": [
        tool_node("a"),
        {"id": "fan", "type": "parallel"},
        tool_node("b", "block"),
        tool_node("s", seconds=0.2),
        {"id": "j", "type": "join"},
        tool_node("c"),
    ],
    "edges": [
        {"from": "a", "to": "fan"},
        {"from": "fan", "to": "b"},
        {"from": "fan", "to": "s"},
        {"from": "b", "to": "j"},
        {"from": "s", "to": "j"},
        {"from": "j", "to": "c"},
    ],
}
SLEEPING = {
    "id": "crash-sleep",
    "steps": [tool_node("a"), tool_node("s", seconds=SLEEP_SECONDS), tool_node("c")],
}


def assert_contiguous(run_id: str, events: list[Event]) -> None:
    ids = [e.id for e in events]
    assert ids == list(range(1, len(events) + 1)), (run_id, ids)
    assert [e.data["seq"] for e in events] == ids, run_id
    assert all(e.data["run_id"] == run_id for e in events)
    assert [e.event for e in events] == [e.type for e in events]


def node_status(server: DrillServer, run_id: str, node_id: str) -> str:
    body = server.http.get(server.runs(f"/{run_id}/status")).json()
    return str(next(n["status"] for n in body["node_states"] if n["node_id"] == node_id))


def test_kill_9_with_twenty_runs_in_flight(make_server: MakeServer) -> None:
    server = make_server()
    server.start()
    server.create_workflow(BLOCKING)
    server.create_workflow(SLEEPING)
    tags = {
        "block": [new_tag() for _ in range(BLOCKING_RUNS)],
        "sleep": [new_tag() for _ in range(SLEEPING_RUNS)],
    }
    runs: dict[str, str] = {}  # tag -> run id
    for tag in tags["block"]:
        runs[tag] = str(server.start_run("crash-block", {"tag": tag})["run_id"])
    wait_until(
        lambda: all((t, "b-start") in server.effects(t) for t in tags["block"]),
        30,
        lambda: f"not all blocked: {server.effects()}",
    )
    # The kill must not land between a node's side effect and the save of its result: that
    # node would rightly run again. So `s`, beside the blocked `b`, must be stored as done
    # (its node state follows the checkpoint write of its result) before going on.
    wait_until(
        lambda: all(node_status(server, runs[t], "s") == "COMPLETED" for t in tags["block"]),
        30,
        lambda: f"s not done everywhere: {server.effects()}",
    )
    for tag in tags["sleep"]:
        runs[tag] = str(server.start_run("crash-sleep", {"tag": tag})["run_id"])
    sleepers_with_slots = SLOTS - BLOCKING_RUNS
    wait_until(
        lambda: sum((t, "a") in server.effects(t) for t in tags["sleep"]) == sleepers_with_slots,
        30,
        lambda: f"sleepers not asleep: {server.effects()}",
    )
    statuses = Counter(server.run(r)["status"] for r in runs.values())
    assert statuses == {"RUNNING": SLOTS, "QUEUED": len(runs) - SLOTS}, statuses
    before = Counter(server.effects())

    server.kill()
    for tag in tags["block"][: BLOCKING_RUNS // 2]:
        server.set_flag(tag, "b")  # these find their flag at once after the restart
    server.start()  # from here on: no request that touches a run, only reads
    still_blocked = tags["block"][BLOCKING_RUNS // 2 :]
    wait_until(
        lambda: all(Counter(server.effects())[(t, "b-start")] == 2 for t in still_blocked),
        30,
        lambda: f"blocked runs not restarted: {server.effects()}",
    )
    for tag in still_blocked:
        server.set_flag(tag, "b")
    finished = server.wait_terminal(list(runs.values()), timeout=90)

    assert {r["status"] for r in finished.values()} == {"COMPLETED"}, finished
    effects = Counter(server.effects())
    for tag in tags["block"]:
        for name in ("a", "s", "b", "c"):
            assert effects[(tag, name)] == 1, (tag, name, effects)
        assert finished[runs[tag]]["output"] == {"c": {"name": "c"}}
    for tag in tags["sleep"]:
        for name in ("a", "s", "c"):
            assert effects[(tag, name)] == 1, (tag, name, effects)
    for key, count in before.items():  # what was done before the kill was not done again
        if not key[1].endswith("-start"):
            assert effects[key] == count, (key, effects[key], count)
    for tag, run_id in runs.items():
        events = server.events(run_id)
        assert_contiguous(run_id, events)
        assert events[-1].type == "run.status" and events[-1].data["status"] == "COMPLETED"
        completed = Counter(e.data["node_id"] for e in events if e.type == "node.completed")
        nodes = ("a", "fan", "b", "s", "j", "c") if tag in tags["block"] else ("a", "s", "c")
        assert completed == Counter(nodes), (tag, completed)  # each node once, none lost
        states = server.http.get(server.runs(f"/{run_id}/status")).json()["node_states"]
        assert {s["status"] for s in states} == {"COMPLETED"}, (tag, states)
    assert "resuming run" in server.log()
