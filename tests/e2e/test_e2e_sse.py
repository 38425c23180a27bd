"""Server-Sent Events against a real server: order and types, ids, replay after N (header
and query), a finished run's stream, and a reconnect across a server restart."""

from __future__ import annotations

import time
from typing import Any

from e2e_kit import Event, MakeServer, Server, assert_contiguous, chain, tool_node

PROMPT = "hello brave new world"


def mixed(workflow_id: str) -> dict[str, Any]:
    """A tool that reports progress, a fake:echo model, a gate, then a last tool."""
    return chain(
        workflow_id,
        [
            tool_node("p", "progress", inputs={"steps": 3}),
            {"id": "ag", "type": "agent_call", "model": "fake:echo", "prompt": PROMPT},
            {"id": "g", "type": "human_gate", "prompt": "Go on?", "inputs": {"said": "$ag.text"}},
            tool_node("c"),
        ],
    )


def kinds(events: list[Event]) -> list[tuple[str, str | None]]:
    """(type, node id or status) per event: what the order assertions compare."""
    return [(e.type, e.data.get("node_id") or e.data.get("status")) for e in events]


def test_event_order_with_tool_model_and_gate(server: Server, tag: str) -> None:
    server.create_workflow(mixed(f"mix-{tag}"))
    run_id = server.start_run(f"mix-{tag}", {"tag": tag})["run_id"]
    events: list[Event] = []
    with server.sse(run_id) as stream:
        for event in stream:
            events.append(event)
            if event.type == "run.status" and event.data["status"] == "WAITING":
                break
        gate = server.gates(run_id)["g"]
        assert gate["status"] == "WAITING" and gate["payload"]["inputs"] == {"said": PROMPT}
        assert server.decide(run_id, "g").status_code == 200
        events.extend(stream)  # ends only when the server closes the stream

    assert_contiguous(events)
    deltas = [e for e in events if e.type == "message.delta"]
    assert [e.data["text"] for e in deltas] == ["hello ", "brave ", "new ", "world"]
    assert all(e.data["node_id"] == "ag" for e in deltas)
    progress = [e.data["data"] for e in events if e.type == "node.progress"]
    assert progress == [{"step": 1, "of": 3}, {"step": 2, "of": 3}, {"step": 3, "of": 3}]
    assert kinds(events) == [
        ("run.status", "RUNNING"),
        ("node.started", "p"),
        *[("node.progress", "p")] * 3,
        ("node.completed", "p"),
        ("node.started", "ag"),
        *[("message.delta", "ag")] * 4,
        ("node.completed", "ag"),
        ("gate.waiting", "g"),
        ("run.status", "WAITING"),
        ("gate.decided", None),
        ("run.status", "RUNNING"),
        ("node.completed", "g"),
        ("node.started", "c"),
        ("node.completed", "c"),
        ("run.status", "COMPLETED"),
    ], kinds(events)
    by_type = {e.type: e.data for e in events}
    assert by_type["gate.waiting"]["gate_id"] == "g"
    assert by_type["gate.decided"] == {**by_type["gate.decided"], "gate_id": "g",
                                       "decision": "approve", "decided_by": "admin"}
    assert by_type["node.started"]["attempt"] == 1
    assert by_type["node.completed"]["output"] == {"name": "c"}
    outputs = {e.data["node_id"]: e.data["output"] for e in events if e.type == "node.completed"}
    assert outputs["ag"]["text"] == PROMPT and outputs["p"] == {"name": "p", "steps": 3}
    assert outputs["g"]["decision"] == "approve" and outputs["g"]["decided_by"] == "admin"
    for event in events:
        assert event.data["run_id"] == run_id and event.data["ts"], event
    assert server.effects(tag) == ["p", "c"]


def test_replay_after_n_by_header_and_query(server: Server, tag: str) -> None:
    server.create_workflow(chain(f"rp-{tag}", [tool_node("a"), tool_node("b"), tool_node("c")]))
    run_id = server.start_run(f"rp-{tag}", {"tag": tag}, wait=True)["run_id"]

    started = time.monotonic()
    full = server.events(run_id)  # a finished run: replays everything, then closes
    assert time.monotonic() - started < 5
    assert_contiguous(full)
    assert full[-1].type == "run.status" and full[-1].data["status"] == "COMPLETED"
    assert len(full) >= 8

    for n in (0, 1, 4, len(full) - 1, len(full)):
        by_header = server.events(run_id, last_event_id=n)
        by_query = server.events(run_id, last_event_id=n, use_query=True)
        assert [e.data for e in by_header] == [e.data for e in full[n:]], n
        assert [e.data for e in by_query] == [e.data for e in full[n:]], n


def test_header_wins_over_query(server: Server, tag: str) -> None:
    server.create_workflow(chain(f"hq-{tag}", [tool_node("a"), tool_node("b")]))
    run_id = server.start_run(f"hq-{tag}", {"tag": tag}, wait=True)["run_id"]
    full = server.events(run_id)
    with server.http.stream(
        "GET", server.runs(f"/{run_id}/events"), params={"last_event_id": 1},
        headers={"Last-Event-ID": "3"}, timeout=20,
    ) as response:
        ids = [line for line in response.iter_lines() if line.startswith("id:")]
    assert ids == [f"id: {e.id}" for e in full[3:]]


def test_reconnect_across_restart_loses_and_repeats_nothing(
    make_server: MakeServer, tag: str
) -> None:
    server = make_server()
    server.start()
    server.create_workflow(chain(f"rs-{tag}", [tool_node("a"), tool_node("b", "block"),
                                               tool_node("c")]))
    run_id = server.start_run(f"rs-{tag}", {"tag": tag})["run_id"]
    before: list[Event] = []
    with server.sse(run_id) as stream:
        for event in stream:
            before.append(event)
            if event.type == "node.started" and event.data["node_id"] == "b":
                break
        server.wait_effect(tag, "b-start")
        started = time.monotonic()
        code = server.stop()  # a client is still connected to the stream
        stop_seconds = time.monotonic() - started
    assert code == 0, server.log()
    assert stop_seconds < 10, f"SIGTERM with an open SSE stream took {stop_seconds:.1f} s"

    server.start()
    server.set_flag(tag, "b")
    after = server.events(run_id, last_event_id=before[-1].id)

    assert_contiguous(before + after)
    assert after[-1].type == "run.status" and after[-1].data["status"] == "COMPLETED"
    assert server.run(run_id)["status"] == "COMPLETED"
    assert [e.data for e in server.events(run_id)] == [e.data for e in before + after]
    assert server.effects(tag).count("a") == 1 and server.effects(tag).count("c") == 1


def test_clients_that_go_away_do_not_disturb_the_run(server: Server, tag: str) -> None:
    server.create_workflow(chain(f"dc-{tag}", [tool_node("a"), tool_node("b", "block")]))
    run_id = server.start_run(f"dc-{tag}", {"tag": tag})["run_id"]
    server.wait_effect(tag, "b-start")
    log_start = len(server.log())

    for _ in range(20):  # read a little, then hang up in the middle of the live stream
        with server.sse(run_id) as stream:
            assert next(stream).id == 1
    server.set_flag(tag, "b")

    assert server.wait_for(run_id)["status"] == "COMPLETED"
    events = server.events(run_id)
    assert_contiguous(events)
    assert events[-1].data["status"] == "COMPLETED"
    log = server.log()[log_start:]
    assert "Traceback" not in log and "ERROR" not in log, log
