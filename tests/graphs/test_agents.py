"""agent_call: the inline `fake:echo` model, the repo's echo_agent as a subgraph with its
interrupt as a gate, and langgraph.json graphs loading as the LangGraph CLI loads them."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from graphs_testkit import LANGGRAPH_JSON, start_run, tool_node
from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.compile import compile_workflow
from graphs.registry import Registry
from graphs.runner import drive
from graphs.validate import validate_definition

Saver = BaseCheckpointSaver[Any]


async def test_inline_model_streams_words_and_counts_tokens(registry: Registry,
                                                            saver: Saver) -> None:
    definition = {
        "id": "inline",
        "input_schema": {"type": "object", "properties": {"topic": {}}},
        "steps": [{"id": "write", "type": "agent_call", "model": "fake:echo",
                   "system": "be brief", "prompt": "tell me about {{ $input.topic }} today"}],
    }
    run = await start_run(definition, registry, saver, {"topic": "owls"})
    assert run.result.status == "COMPLETED"
    assert [e["text"] for e in run.of_type("message.delta", "write")] == [
        "tell ", "me ", "about ", "owls ", "today"]
    record = run.result.records["write"]
    assert record["output"] == {"text": "tell me about owls today", "model": "fake:echo"}
    # input: 2 words of system + 5 of prompt; output: the 5 words echoed back
    assert record["usage"] == {"input_tokens": 7, "output_tokens": 5}


async def test_model_output_feeds_the_next_node(registry: Registry, saver: Saver) -> None:
    definition = {"id": "chain", "steps": [
        {"id": "m", "type": "agent_call", "model": "fake:echo", "prompt": "alpha beta"},
        tool_node("after", "echo", inputs={"value": "got: {{ $m.text }}"}),
    ]}
    run = await start_run(definition, registry, saver)
    assert run.result.output == {"after": "got: alpha beta"}


async def test_a_model_without_its_package_fails_the_node_clearly(registry: Registry,
                                                                  saver: Saver) -> None:
    definition = {"id": "nopkg", "steps": [
        {"id": "m", "type": "agent_call", "model": "openai:gpt-4o", "prompt": "hi"}]}
    result = validate_definition(definition)  # without a registry the model is not checked
    assert result.spec is not None
    workflow = compile_workflow(result.spec, registry, saver)

    async def ignore(event: dict[str, Any]) -> None:
        return None

    outcome = await drive(workflow, "nopkg", workflow.initial_state({}), ignore)
    assert outcome.status == "FAILED"
    assert outcome.error is not None and outcome.error["code"] == "model_unavailable"
    assert "langchain-openai" in outcome.error["message"]


def test_one_model_instance_per_spec(registry: Registry) -> None:
    assert registry.model("fake:echo") is registry.model("fake:echo")


def agent_definition(review: bool) -> dict[str, Any]:
    return {
        "id": "agent",
        "input_schema": {"type": "object", "properties": {"question": {}}},
        "steps": [
            {"id": "agent", "type": "agent_call", "agent": "echo_agent",
             "inputs": {"question": "$input.question", "review": review}},
            tool_node("done", "echo",
                      inputs={"value": {"answer": "$agent.answer", "ok": "$agent.approved"}}),
        ],
    }


async def test_agent_graph_runs_as_a_subgraph(registry: Registry, saver: Saver) -> None:
    run = await start_run(agent_definition(False), registry, saver, {"question": "why blue"})
    assert run.result.status == "COMPLETED"
    assert run.result.output == {"done": {"answer": "Answer: why blue", "ok": True}}
    assert "".join(e["text"] for e in run.of_type("message.delta", "agent")) == (
        "Answer: why blue")
    record = run.result.records["agent"]
    # the agent's model saw its system prompt (5 words) and "Answer: why blue" (3 words)
    assert record["usage"] == {"input_tokens": 8, "output_tokens": 3}
    output = record["output"]
    assert output["text"] == "Answer: why blue"
    assert [m["type"] for m in output["messages"]] == ["human", "ai"]
    json.dumps(run.result.records)  # the state stays JSON-like


@pytest.mark.parametrize(("decision", "approved"), [("approve", True), ("reject", False)])
async def test_agent_interrupt_becomes_a_gate(registry: Registry, saver: Saver,
                                              decision: str, approved: bool) -> None:
    run = await start_run(agent_definition(True), registry, saver, {"question": "why blue"})
    assert run.result.status == "WAITING"
    [gate] = run.result.gates
    assert gate.gate_id == gate.node_id == "agent"
    assert gate.payload == {"prompt": "Approve this answer?", "answer": "Answer: why blue"}
    deltas = len(run.of_type("message.delta"))

    result = await run.decide({"agent": {"decision": decision}})
    assert result.status == "COMPLETED"
    assert result.output == {"done": {"answer": "Answer: why blue", "ok": approved}}
    assert len(run.of_type("message.delta")) == deltas  # the draft did not run again


LOAD_SCRIPT = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from langgraph.pregel import Pregel
    from langgraph_cli.config import validate_config_file
    from graphs.agents import load_graph_spec

    config_path = Path(sys.argv[1])
    config = validate_config_file(config_path)
    loaded = {}
    for name, spec in config["graphs"].items():
        path = spec if isinstance(spec, str) else spec["path"]
        graph = load_graph_spec(path, config_path.parent)
        loaded[name] = isinstance(graph, Pregel)
    print(json.dumps(loaded))
""")


def test_langgraph_json_loads_as_the_langgraph_cli_loads_it(tmp_path: Path) -> None:
    names = list(json.loads(LANGGRAPH_JSON.read_text())["graphs"])
    assert names, "langgraph.json lists no graphs"
    done = subprocess.run(
        [sys.executable, "-c", LOAD_SCRIPT, str(LANGGRAPH_JSON)],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == dict.fromkeys(names, True)
