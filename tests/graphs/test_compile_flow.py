"""Compiler semantics on a real SQLite checkpointer: order, fan-out, joins, conditions,
preconditions, failure handling, run output and node records."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from graphs_testkit import edges, log_lines, record_node, start_run, tool_node, valid_spec
from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.compile import GraphCache, compile_workflow, input_errors
from graphs.local import EXIT_FAILED, EXIT_OK, run_file
from graphs.registry import Registry

Saver = BaseCheckpointSaver[Any]


def fail_node(node_id: str, log: Path, kind: str = "hard", **extra: Any) -> dict[str, Any]:
    inputs = {"log": str(log), "label": node_id, "failures": 99, "kind": kind}
    return tool_node(node_id, "fail_first", inputs=inputs, **extra)


def nap_node(node_id: str, seconds: float) -> dict[str, Any]:
    return tool_node(node_id, "nap", inputs={"seconds": seconds, "label": node_id})


async def test_steps_run_in_order(registry: Registry, saver: Saver, log: Path) -> None:
    definition = {"id": "seq", "steps": [
        record_node("a", log),
        record_node("b", log, inputs={"value": "$a.label"}),
        record_node("c", log, inputs={"value": "$b.value"}),
    ]}
    run = await start_run(definition, registry, saver)
    assert run.result.status == "COMPLETED"
    assert log_lines(log) == ["a", "b", "c"]
    assert [e["node_id"] for e in run.of_type("node.started")] == ["a", "b", "c"]
    assert run.result.output == {"c": {"label": "c", "value": "a"}}


async def test_parallel_branches_run_concurrently(registry: Registry, saver: Saver) -> None:
    definition = {
        "id": "fan",
        "nodes": [{"id": "p", "type": "parallel"}, nap_node("b", 0.5), nap_node("c", 0.5),
                  {"id": "j", "type": "join"}],
        "edges": edges("p>b", "p>c", "b>j", "c>j"),
    }
    began = time.perf_counter()
    run = await start_run(definition, registry, saver)
    elapsed = time.perf_counter() - began
    assert run.result.status == "COMPLETED"
    assert elapsed < 0.9, f"two 0.5 s branches took {elapsed:.2f} s: not concurrent"
    assert run.result.records["p"]["output"] == {"branches": ["b", "c"]}


async def test_join_runs_once_and_maps_incoming_outputs(registry: Registry, saver: Saver,
                                                        log: Path) -> None:
    definition = {
        "id": "fanin",
        "nodes": [{"id": "p", "type": "parallel"}, record_node("b", log),
                  record_node("c", log), record_node("d", log), {"id": "j", "type": "join"},
                  record_node("after", log, inputs={"value": "$j.c.label"})],
        # b and d reach the join at different depths; it must still fire exactly once
        "edges": edges("p>b", "p>c", "c>d", "b>j", "d>j", "j>after"),
    }
    run = await start_run(definition, registry, saver)
    assert run.result.status == "COMPLETED"
    assert len(run.of_type("node.started", "j")) == 1
    assert len(run.of_type("node.completed", "j")) == 1
    assert run.result.records["j"]["output"] == {
        "b": {"label": "b", "value": None}, "d": {"label": "d", "value": None}}
    assert log_lines(log).count("after") == 1
    assert run.result.records["after"]["output"]["value"] is None  # c is not an input of j


def routing_definition(log: Path) -> dict[str, Any]:
    """route -> one of three branches (two nodes deep on `one`), then a join and a tail."""
    return {
        "id": "route",
        "input_schema": {"type": "object", "properties": {"x": {}}},
        "nodes": [
            {"id": "route", "type": "condition", "expression": "$input.x"},
            record_node("one", log), record_node("one_more", log),
            record_node("two", log), record_node("other", log),
            {"id": "j", "type": "join"},
            record_node("tail", log),
        ],
        "edges": [
            {"from": "route", "to": "one", "when": 1},
            {"from": "route", "to": "two", "when": "two"},
            {"from": "route", "to": "other", "default": True},
            *edges("one>one_more", "one_more>j", "two>j", "other>j", "j>tail"),
        ],
    }


@pytest.mark.parametrize(
    ("x", "taken"),
    [(1, ["one", "one_more"]), ("two", ["two"]), (3, ["other"]), (True, ["other"])],
)
async def test_condition_routes_and_skips_the_rest(
    registry: Registry, saver: Saver, log: Path, x: Any, taken: list[str]
) -> None:
    run = await start_run(routing_definition(log), registry, saver, {"x": x})
    assert run.result.status == "COMPLETED"
    branch_nodes = {"one", "one_more", "two", "other"}
    assert set(log_lines(log)) == {*taken, "tail"}
    for node_id in branch_nodes - set(taken):
        record = run.result.records[node_id]
        assert record["status"] == "SKIPPED" and record["output"] is None
        assert run.of_type("node.skipped", node_id)
        assert not run.of_type("node.started", node_id)
    assert run.result.records["route"]["output"]["branches"] == [taken[0]]
    # the join ran once, after the live branch only, and maps just that branch
    assert len(run.of_type("node.started", "j")) == 1
    assert list(run.result.records["j"]["output"]) == [taken[-1]]
    assert log_lines(log).count("tail") == 1


async def test_condition_without_a_match_or_default_skips_everything_after(
    registry: Registry, saver: Saver, log: Path
) -> None:
    definition = {
        "id": "nomatch",
        "nodes": [{"id": "c", "type": "condition", "expression": "'b'"},
                  record_node("a1", log), record_node("a2", log)],
        "edges": [{"from": "c", "to": "a1", "when": "a"}, {"from": "a1", "to": "a2"}],
    }
    run = await start_run(definition, registry, saver)
    assert run.result.status == "COMPLETED"
    assert log_lines(log) == []
    assert run.status_of("a1") == run.status_of("a2") == "SKIPPED"
    assert run.result.output == {}  # a skipped sink gives no output


async def test_a_node_with_another_live_path_still_runs(registry: Registry, saver: Saver,
                                                        log: Path) -> None:
    definition = {
        "id": "merge",
        "nodes": [record_node("start", log),
                  {"id": "c", "type": "condition", "expression": "false"},
                  record_node("skipped", log), record_node("both", log)],
        "edges": [*edges("start>c", "start>both"),
                  {"from": "c", "to": "skipped", "when": True}, *edges("skipped>both")],
    }
    run = await start_run(definition, registry, saver)
    assert run.status_of("skipped") == "SKIPPED"
    assert run.status_of("both") == "COMPLETED"
    assert log_lines(log) == ["start", "both"]


async def test_when_false_skips_only_that_node(registry: Registry, saver: Saver,
                                               log: Path) -> None:
    definition = {
        "id": "pre",
        "input_schema": {"type": "object", "properties": {"go": {}}},
        "steps": [
            record_node("a", log),
            record_node("b", log, when="$input.go == true"),
            record_node("c", log, inputs={"value": "$b.label"}, when="$a.label == 'a'"),
        ],
    }
    run = await start_run(definition, registry, saver, {"go": False})
    assert run.result.status == "COMPLETED"
    assert log_lines(log) == ["a", "c"]
    record = run.result.records["b"]
    assert record["status"] == "SKIPPED" and record["output"] is None
    assert record["attempts"] == 0
    assert run.result.records["c"]["output"] == {"label": "c", "value": None}

    again = await start_run(definition, registry, saver, {"go": True}, run_id="run-2")
    assert again.status_of("b") == "COMPLETED"


async def test_a_condition_skipped_by_when_takes_its_default_edge(
    registry: Registry, saver: Saver, log: Path
) -> None:
    definition = {
        "id": "skipcond",
        "nodes": [{"id": "c", "type": "condition", "expression": "true", "when": "false"},
                  record_node("yes", log), record_node("fallback", log)],
        "edges": [{"from": "c", "to": "yes", "when": True},
                  {"from": "c", "to": "fallback", "default": True}],
    }
    run = await start_run(definition, registry, saver)
    assert run.status_of("c") == "SKIPPED"
    assert run.status_of("yes") == "SKIPPED"
    assert log_lines(log) == ["fallback"]


async def test_a_when_that_cannot_be_evaluated_fails_the_node(registry: Registry,
                                                              saver: Saver, log: Path) -> None:
    definition = {"id": "badwhen", "input_schema": {"type": "object", "properties": {"n": {}}},
                  "steps": [record_node("a", log, when="$input.n / 0 > 1")]}
    run = await start_run(definition, registry, saver, {"n": 1})
    assert run.result.status == "FAILED"
    assert run.result.error is not None
    assert run.result.error["code"] == "expression_error"
    assert run.result.error["node_id"] == "a"
    assert log_lines(log) == []


@pytest.mark.parametrize("flag", [{"on_failure": "continue"}, {"continue_on_failure": True}])
async def test_continue_on_failure(registry: Registry, saver: Saver, log: Path,
                                   flag: dict[str, Any]) -> None:
    definition = {"id": "cont", "steps": [
        fail_node("a", log, **flag),
        record_node("b", log, inputs={"value": "$a.label"}),
    ]}
    run = await start_run(definition, registry, saver)
    assert run.result.status == "COMPLETED"
    record = run.result.records["a"]
    assert record["status"] == "FAILED" and record["attempts"] == 1
    assert record["error"]["code"] == "hard_error" and record["error"]["node_id"] == "a"
    assert run.of_type("node.failed", "a")
    assert run.result.records["b"]["output"] == {"label": "b", "value": None}


async def test_a_failure_stops_the_run_by_default(registry: Registry, saver: Saver,
                                                  log: Path) -> None:
    definition = {"id": "stop", "steps": [record_node("a", log), fail_node("b", log),
                                          record_node("c", log)]}
    run = await start_run(definition, registry, saver)
    assert run.result.status == "FAILED"
    assert run.result.error is not None
    assert run.result.error["node_id"] == "b"
    assert run.result.error["code"] == "hard_error"
    assert "b failed on call 1" in run.result.error["message"]
    assert run.result.retryable is False
    assert [e["node_id"] for e in run.of_type("node.failed")] == ["b"]
    assert log_lines(log) == ["a", "b"]  # c never ran


async def test_without_stop_on_failure_other_branches_go_on(registry: Registry, saver: Saver,
                                                            log: Path) -> None:
    definition = {
        "id": "nostop",
        "settings": {"stop_on_failure": False},
        "nodes": [{"id": "p", "type": "parallel"}, fail_node("bad", log),
                  record_node("after_bad", log), nap_node("slow", 0.2),
                  record_node("after_slow", log)],
        "edges": edges("p>bad", "bad>after_bad", "p>slow", "slow>after_slow"),
    }
    run = await start_run(definition, registry, saver)
    assert run.result.status == "FAILED"
    assert run.result.error is not None and run.result.error["node_id"] == "bad"
    assert run.status_of("bad") == "FAILED"
    assert run.status_of("slow") == "COMPLETED"
    assert run.status_of("after_slow") == "COMPLETED"
    assert run.status_of("after_bad") == "SKIPPED"
    assert log_lines(log) == ["bad", "after_slow"]
    assert run.result.output == {"after_slow": {"label": "after_slow", "value": None}}


async def test_drive_time_limit_gives_a_timeout_error(registry: Registry, saver: Saver) -> None:
    definition = {"id": "slow", "steps": [nap_node("a", 5)]}
    began = time.perf_counter()
    run = await start_run(definition, registry, saver, timeout=0.3)
    assert time.perf_counter() - began < 2
    assert run.result.status == "FAILED"
    assert run.result.error is not None and run.result.error["code"] == "timeout"


async def test_max_execution_time_seconds_is_honoured(tmp_path: Path, registry: Registry) -> None:
    path = tmp_path / "slow.json"
    path.write_text(json.dumps({"id": "slow", "settings": {"max_execution_time_seconds": 0.3},
                                "steps": [nap_node("a", 5)]}))
    out, err = io.StringIO(), io.StringIO()
    began = time.perf_counter()
    code = await run_file(path, {}, tmp_path / "data", registry, out=out, err=err,
                          stdin=io.StringIO())
    assert time.perf_counter() - began < 2
    assert code == EXIT_FAILED
    assert "run failed: timeout" in err.getvalue()
    assert out.getvalue() == ""


async def test_run_input_must_match_the_input_schema(tmp_path: Path,
                                                    registry: Registry) -> None:
    definition = {
        "id": "typed",
        "input_schema": {"type": "object", "properties": {"query": {"type": "string"}},
                         "required": ["query"]},
        "steps": [tool_node("a", "echo", inputs={"value": "$input.query"})],
    }
    spec = valid_spec(definition, registry)
    assert input_errors(spec, {"query": "lisbon"}) == []
    assert input_errors(spec, {"query": 5}) == ["query: 5 is not of type 'string'"]
    assert input_errors(spec, {}) == ["(root): 'query' is a required property"]
    assert input_errors(spec, ["lisbon"]) == ["the run input must be a JSON object"]

    path = tmp_path / "typed.json"
    path.write_text(json.dumps(definition))
    out, err = io.StringIO(), io.StringIO()
    code = await run_file(path, {"query": 5}, tmp_path / "data", registry, out=out, err=err,
                          stdin=io.StringIO())
    assert code == EXIT_FAILED
    assert "input_schema" in err.getvalue() and "query: 5 is not of type" in err.getvalue()
    out, err = io.StringIO(), io.StringIO()
    code = await run_file(path, {"query": "lisbon"}, tmp_path / "data", registry, out=out,
                          err=err, stdin=io.StringIO())
    assert code == EXIT_OK and json.loads(out.getvalue()) == {"a": "lisbon"}


async def test_output_mapping(registry: Registry, saver: Saver, log: Path) -> None:
    definition = {
        "id": "out",
        "output": {"first": "$a.label", "both": ["$a", "$b.value"], "text": "{{ $b.label }}!"},
        "steps": [record_node("a", log), record_node("b", log, inputs={"value": 42})],
    }
    run = await start_run(definition, registry, saver)
    assert run.result.output == {"first": "a", "both": [{"label": "a", "value": None}, 42],
                                 "text": "b!"}


async def test_default_output_is_every_completed_sink(registry: Registry, saver: Saver,
                                                      log: Path) -> None:
    definition = {
        "id": "sinks",
        "nodes": [{"id": "p", "type": "parallel"}, record_node("x", log),
                  record_node("y", log, inputs={"value": [1, 2]}),
                  record_node("z", log, when="false")],
        "edges": edges("p>x", "p>y", "p>z"),
    }
    run = await start_run(definition, registry, saver)
    assert run.result.output == {"x": {"label": "x", "value": None},
                                 "y": {"label": "y", "value": [1, 2]}}


async def test_node_records_in_the_checkpoint(registry: Registry, saver: Saver, log: Path) -> None:
    definition = {"id": "records", "settings": {"stop_on_failure": False}, "steps": [
        record_node("a", log, inputs={"value": {"k": [1]}}),
        fail_node("b", log, kind="value"),
    ]}
    run = await start_run(definition, registry, saver)
    snapshot = await run.workflow.graph.aget_state({"configurable": {"thread_id": run.run_id}})
    records = run.workflow.node_records(snapshot.values)
    assert records == run.result.records
    a, b = records["a"], records["b"]
    assert a["status"] == "COMPLETED" and a["attempts"] == 1
    assert a["output"] == {"label": "a", "value": {"k": [1]}}
    assert a["started_at"] <= a["finished_at"]
    assert b["status"] == "FAILED" and b["output"] is None and b["attempts"] == 1
    assert b["error"] == {"code": "node_error", "node_id": "b",
                          "message": "ValueError: b failed on call 1"}


def test_graph_cache_shares_one_compiled_graph_per_key(registry: Registry, log: Path) -> None:
    spec = valid_spec({"id": "cached", "steps": [record_node("a", log)]}, registry)
    other = valid_spec({"id": "other", "steps": [record_node("b", log)]}, registry)
    cache = GraphCache(registry, None, size=2)
    first = cache.get(("p", "cached", 1), spec)
    assert cache.get(("p", "cached", 1), spec) is first
    assert cache.get(("p", "cached", 2), spec) is not first
    cache.get(("p", "other", 1), other)  # third key: the least recently used one goes
    assert cache.get(("p", "cached", 1), spec) is not first


def test_compiled_state_has_one_key_per_node(registry: Registry, log: Path) -> None:
    spec = valid_spec({"id": "keys", "steps": [record_node("a", log), record_node("b", log)]},
                      registry)
    graph = compile_workflow(spec, registry).graph
    assert {"n:a", "n:b", "input", "context", "output"} <= set(graph.channels)
