"""Human gates: interrupt with a payload, resume with a decision by interrupt id, survive
closing the checkpointer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from graphs_testkit import Run, edges, log_lines, record_node, start_run, valid_spec
from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpoints import open_checkpointer
from graphs.compile import compile_workflow
from graphs.registry import Registry
from graphs.runner import RunResult, decision_command, drive

Saver = BaseCheckpointSaver[Any]
APPROVE = {"decision": "approve", "comment": "looks good", "data": {"pick": 2},
           "decided_by": "ana"}
REJECT = {"decision": "reject", "comment": "no", "data": None, "decided_by": "bo"}


def gated(log: Path, on_reject: str = "fail") -> dict[str, Any]:
    return {
        "id": "gated",
        "input_schema": {"type": "object", "properties": {"city": {}}},
        "steps": [
            record_node("search", log, inputs={"value": ["h1", "h2"]}),
            {"id": "review", "type": "human_gate", "on_reject": on_reject,
             "prompt": "Book in {{ $input.city }}: {{ $search.value }}?",
             "inputs": {"hotels": "$search.value", "city": "$input.city"}},
            record_node("book", log, inputs={"value": "$review"}),
        ],
    }


async def test_a_gate_waits_with_its_payload(registry: Registry, saver: Saver,
                                             log: Path) -> None:
    run = await start_run(gated(log), registry, saver, {"city": "Lisbon"})
    assert run.result.status == "WAITING"
    [gate] = run.result.gates
    assert gate.gate_id == gate.node_id == "review"
    assert gate.interrupt_id
    assert gate.payload == {
        "gate_id": "review", "node_id": "review",
        "prompt": 'Book in Lisbon: ["h1", "h2"]?',
        "inputs": {"hotels": ["h1", "h2"], "city": "Lisbon"},
    }
    assert log_lines(log) == ["search"]
    assert "book" not in run.result.records
    assert run.result.records["review"]["status"] == "WAITING"
    assert run.of_type("gate.waiting") == [
        {"type": "gate.waiting", "gate_id": "review", "node_id": "review",
         "payload": gate.payload}]


async def test_other_branches_go_on_while_a_gate_waits(registry: Registry, saver: Saver,
                                                       log: Path) -> None:
    definition = {
        "id": "side",
        "nodes": [{"id": "p", "type": "parallel"},
                  {"id": "gate", "type": "human_gate", "prompt": "go?"},
                  record_node("after_gate", log),
                  record_node("work", log), record_node("more_work", log)],
        "edges": edges("p>gate", "gate>after_gate", "p>work", "work>more_work"),
    }
    run = await start_run(definition, registry, saver)
    assert run.result.status == "WAITING"
    assert log_lines(log) == ["work", "more_work"]
    # the gate was open (and announced) before the other branch finished
    types = [(e["type"], e.get("node_id")) for e in run.events]
    assert types.index(("gate.waiting", "gate")) < types.index(("node.completed", "more_work"))

    result = await run.decide({"gate": APPROVE})
    assert result.status == "COMPLETED"
    assert log_lines(log) == ["work", "more_work", "after_gate"]


async def test_approve_continues_with_the_decision(registry: Registry, saver: Saver,
                                                   log: Path) -> None:
    run = await start_run(gated(log), registry, saver, {"city": "Lisbon"})
    result = await run.decide({"review": APPROVE})
    assert result.status == "COMPLETED"
    assert result.records["review"]["output"] == APPROVE
    assert result.output == {"book": {"label": "book", "value": APPROVE}}
    assert log_lines(log) == ["search", "book"]  # search did not run again


async def test_reject_fails_the_run_by_default(registry: Registry, saver: Saver,
                                               log: Path) -> None:
    run = await start_run(gated(log), registry, saver, {"city": "Lisbon"})
    result = await run.decide({"review": REJECT})
    assert result.status == "FAILED"
    assert result.error is not None
    assert result.error["code"] == "gate_rejected" and result.error["node_id"] == "review"
    assert result.retryable is False
    assert log_lines(log) == ["search"]


async def test_a_resume_without_a_decision_fails_the_gate(registry: Registry, saver: Saver,
                                                          log: Path) -> None:
    run = await start_run(gated(log), registry, saver, {"city": "Lisbon"})
    result = await run.decide({"review": {"decision": "maybe"}})
    assert result.status == "FAILED"
    assert result.error is not None and result.error["code"] == "invalid_decision"


@pytest.mark.parametrize(("answer", "branch"), [(REJECT, "declined"), (APPROVE, "booked")])
async def test_on_reject_continue_lets_a_condition_route(
    registry: Registry, saver: Saver, log: Path, answer: dict[str, Any], branch: str
) -> None:
    definition = {
        "id": "route",
        "nodes": [
            {"id": "review", "type": "human_gate", "prompt": "ok?", "on_reject": "continue"},
            {"id": "decide", "type": "condition", "expression": "$review.decision == 'approve'"},
            record_node("booked", log), record_node("declined", log,
                                                    inputs={"value": "$review.comment"}),
        ],
        "edges": [{"from": "review", "to": "decide"},
                  {"from": "decide", "to": "booked", "when": True},
                  {"from": "decide", "to": "declined", "default": True}],
    }
    run = await start_run(definition, registry, saver)
    result = await run.decide({"review": answer})
    assert result.status == "COMPLETED"
    assert log_lines(log) == [branch]
    assert list(result.output) == [branch]
    assert result.records["review"]["output"]["decision"] == answer["decision"]


async def test_a_gate_on_a_branch_not_taken_does_not_wait(registry: Registry, saver: Saver,
                                                         log: Path) -> None:
    definition = {
        "id": "nogate",
        "nodes": [{"id": "c", "type": "condition", "expression": "'auto'"},
                  {"id": "ask", "type": "human_gate", "prompt": "?"},
                  record_node("manual", log), record_node("auto", log)],
        "edges": [{"from": "c", "to": "ask", "when": "manual"}, *edges("ask>manual"),
                  {"from": "c", "to": "auto", "default": True}],
    }
    run = await start_run(definition, registry, saver)
    assert run.result.status == "COMPLETED"
    assert run.status_of("ask") == run.status_of("manual") == "SKIPPED"
    assert run.of_type("gate.waiting") == []
    assert log_lines(log) == ["auto"]


def two_gates(log: Path) -> dict[str, Any]:
    return {
        "id": "two",
        "nodes": [{"id": "p", "type": "parallel"},
                  {"id": "g1", "type": "human_gate", "prompt": "first?"},
                  {"id": "g2", "type": "human_gate", "prompt": "second?"},
                  {"id": "j", "type": "join"}, record_node("done", log)],
        "edges": edges("p>g1", "p>g2", "g1>j", "g2>j", "j>done"),
    }


async def test_two_parallel_gates_are_decided_one_at_a_time(registry: Registry, saver: Saver,
                                                            log: Path) -> None:
    run = await start_run(two_gates(log), registry, saver)
    assert run.result.status == "WAITING"
    assert sorted(g.gate_id for g in run.result.gates) == ["g1", "g2"]
    assert len({g.interrupt_id for g in run.result.gates}) == 2

    result = await run.decide({"g2": APPROVE})
    assert result.status == "WAITING"
    assert [g.gate_id for g in result.gates] == ["g1"]
    assert log_lines(log) == []

    result = await run.decide({"g1": {"decision": "approve", "decided_by": "bo"}})
    assert result.status == "COMPLETED"
    assert result.records["j"]["output"]["g2"] == APPROVE
    assert result.records["j"]["output"]["g1"]["decided_by"] == "bo"
    assert log_lines(log) == ["done"]


async def test_two_gates_can_be_decided_together(registry: Registry, saver: Saver,
                                                 log: Path) -> None:
    run = await start_run(two_gates(log), registry, saver)
    result = await run.decide({"g1": APPROVE, "g2": APPROVE})
    assert result.status == "COMPLETED" and log_lines(log) == ["done"]


async def test_a_waiting_run_survives_closing_the_checkpointer(
    tmp_path: Path, registry: Registry, log: Path
) -> None:
    path = str(tmp_path / "gates.sqlite")
    spec = valid_spec(gated(log), registry)
    async with open_checkpointer(path) as saver:
        workflow = compile_workflow(spec, registry, saver)
        run = Run(workflow, "durable", RunResult("WAITING"))
        first = await drive(workflow, "durable", workflow.initial_state({"city": "Porto"}),
                            run.sink)
        assert first.status == "WAITING"
        interrupt_id = first.gates[0].interrupt_id

    # a new process would do this: open the same file, compile again, resume by id
    async with open_checkpointer(path) as saver:
        workflow = compile_workflow(valid_spec(gated(log), registry), registry, saver)
        result = await drive(workflow, "durable", decision_command({interrupt_id: APPROVE}),
                             run.sink)
    assert result.status == "COMPLETED"
    assert result.records["book"]["output"] == {"label": "book", "value": APPROVE}
    assert log_lines(log) == ["search", "book"]
