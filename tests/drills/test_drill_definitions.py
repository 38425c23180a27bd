"""Property drills of the definition format (issue 4): every generated valid definition
validates, compiles and runs to COMPLETED on a real SQLite checkpointer exactly as the
oracle in drill_definitions.py says; no mutated or arbitrary definition crashes validation,
compilation or a run of whatever validates; definitions survive JSON and YAML text."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path
from typing import Any

import yaml
from drill_definitions import APPROVE, Plan, expected_run_output, mutated, plans, record
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from checkpoints import open_checkpointer
from graphs.agents import AgentRegistry
from graphs.compile import compile_workflow
from graphs.errors import DefinitionError
from graphs.registry import Registry
from graphs.runner import RunResult, decision_command, drive
from graphs.spec import parse_definition
from graphs.tools import BUILTIN_TOOLS, ToolRegistry
from graphs.validate import validate_definition

REPO = Path(__file__).resolve().parents[2]
REGISTRY = Registry(ToolRegistry([*BUILTIN_TOOLS, record]), AgentRegistry(REPO / "langgraph.json"))
ISSUE_CODES = {
    "cycle",
    "unreachable_node",
    "unknown_node",
    "unknown_reference",
    "duplicate_id",
    "unknown_node_type",
    "missing_field",
    "invalid_expression",
    "unknown_tool",
    "unknown_agent",
    "invalid_value",
}
RUN_TIMEOUT = 30.0
MAX_GATE_ROUNDS = 20
# No `explain` phase: its tracing makes a failing drill take minutes to report.
DRILL = settings(
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate, Phase.target, Phase.shrink],
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
    ],
)


async def run_to_end(
    definition: dict[str, Any], run_input: dict[str, Any], checkpoint_file: Path
) -> tuple[RunResult, list[dict[str, Any]], int]:
    """Validate, compile on a real SQLite saver, drive; approve every gate until it ends.

    Returns the last result, every event, and how many rounds of gate decisions it took.
    """
    result = validate_definition(definition, REGISTRY)
    assert result.issues == [] and result.spec is not None, result.issues
    events: list[dict[str, Any]] = []

    async def sink(event: dict[str, Any]) -> None:
        events.append(event)

    async with open_checkpointer(str(checkpoint_file)) as saver:
        workflow = compile_workflow(result.spec, REGISTRY, saver)
        run_id = str(uuid.uuid4())
        state = workflow.initial_state(run_input)
        outcome = await drive(workflow, run_id, state, sink, timeout=RUN_TIMEOUT)
        rounds = 0
        while outcome.status == "WAITING" and rounds < MAX_GATE_ROUNDS:
            rounds += 1
            decisions = {gate.interrupt_id: APPROVE for gate in outcome.gates}
            outcome = await drive(
                workflow, run_id, decision_command(decisions), sink, timeout=RUN_TIMEOUT
            )
    return outcome, events, rounds


def check_plan_run(plan: Plan, result: RunResult, events: list[dict[str, Any]], log: Path) -> None:
    assert result.status == "COMPLETED", (result.error, plan.definition)
    records = result.records
    statuses = {node_id: records.get(node_id, {}).get("status") for node_id in plan.order}
    assert statuses == plan.expected, (statuses, plan.definition, plan.run_input)
    ran = log.read_text().splitlines() if log.exists() else []
    for node_id, np in plan.nodes.items():
        record_ = records[node_id]
        if plan.expected[node_id] == "SKIPPED":
            assert record_.get("output") is None
            continue
        assert record_["output"] == plan.expected_output(node_id, records), (node_id, record_)
        if np.kind == "record":
            assert ran.count(node_id) == 1, (node_id, ran)  # ran once, not again on a resume
    skipped_records = {n for n in plan.order if plan.expected[n] == "SKIPPED"}
    assert not skipped_records & set(ran), ran  # a skipped node did no work
    assert result.output == expected_run_output(plan, records)
    finished = [
        (e["type"], e["node_id"]) for e in events if e["type"] in ("node.completed", "node.skipped")
    ]
    expected_events = sorted(
        ("node.completed" if plan.expected[n] == "COMPLETED" else "node.skipped", n)
        for n in plan.order
    )
    assert sorted(finished) == expected_events, (finished, plan.expected)
    started = sorted(e["node_id"] for e in events if e["type"] == "node.started")
    workers = [
        n for n in plan.order if plan.expected[n] == "COMPLETED" and plan.nodes[n].kind != "gate"
    ]
    assert started == sorted(workers), (started, workers)


@settings(DRILL, max_examples=150)
@given(plan=plans())
def test_every_generated_valid_definition_runs_as_the_oracle_says(
    plan: Plan, tmp_path: Path
) -> None:
    log = tmp_path / f"{uuid.uuid4().hex}.log"
    result, events, rounds = asyncio.run(
        run_to_end(plan.definition, plan.with_log(str(log)), tmp_path / "checkpoints.sqlite")
    )
    check_plan_run(plan, result, events, log)
    gates = [
        n for n in plan.order if plan.nodes[n].kind == "gate" and plan.expected[n] == "COMPLETED"
    ]
    assert rounds <= len(gates)


@settings(DRILL, max_examples=60)
@given(plan=plans(), as_yaml=st.booleans())
def test_definitions_survive_json_and_yaml_text(plan: Plan, as_yaml: bool) -> None:
    if as_yaml:
        text = yaml.safe_dump(plan.definition, allow_unicode=True, sort_keys=False)
        parsed = parse_definition(text.encode("utf-8"), "application/yaml")
    else:
        parsed = parse_definition(json.dumps(plan.definition), "application/json")
    assert parsed == plan.definition
    assert validate_definition(parsed, REGISTRY).valid


async def _run_whatever(definition: dict[str, Any], checkpoint_file: Path) -> None:
    """Compile and run a definition that validated; whatever it does, drive() must end
    with a result (a failed node is a result), never with an exception."""
    result = validate_definition(definition, REGISTRY)
    assert result.spec is not None
    async with open_checkpointer(str(checkpoint_file)) as saver:
        workflow = compile_workflow(result.spec, REGISTRY, saver)
        run_id = str(uuid.uuid4())
        noop = _noop_sink
        outcome = await drive(
            workflow,
            run_id,
            workflow.initial_state({"n": 1, "s": "a", "flag": True, "log": "/dev/null"}),
            noop,
            timeout=RUN_TIMEOUT,
        )
        for _ in range(MAX_GATE_ROUNDS):
            if outcome.status != "WAITING":
                break
            decisions = {gate.interrupt_id: APPROVE for gate in outcome.gates}
            outcome = await drive(
                workflow, run_id, decision_command(decisions), noop, timeout=RUN_TIMEOUT
            )
        assert outcome.status in ("COMPLETED", "FAILED"), outcome


async def _noop_sink(event: dict[str, Any]) -> None:
    return None


@settings(DRILL, max_examples=150)
@given(definition=mutated())
def test_mutated_definitions_never_crash_validation_compilation_or_runs(
    definition: dict[str, Any], tmp_path: Path
) -> None:
    result = validate_definition(definition, REGISTRY)
    assert result.valid == (result.spec is not None)
    for issue in result.issues:
        assert issue.code in ISSUE_CODES, issue
        assert isinstance(issue.path, str) and issue.message, issue
    json.dumps(result.as_dict())  # the API sends it as it is
    if result.valid:
        asyncio.run(_run_whatever(definition, tmp_path / "mutated.sqlite"))


text_noise = st.binary(max_size=200) | st.text(max_size=200).map(str.encode)


@settings(DRILL, max_examples=120)
@given(
    plan=plans(max_nodes=4),
    cut=st.integers(0, 10_000),
    noise=text_noise,
    content_type=st.sampled_from([None, "application/json", "application/yaml", "text/plain"]),
)
def test_damaged_definition_text_is_refused_cleanly(
    plan: Plan, cut: int, noise: bytes, content_type: str | None
) -> None:
    text = json.dumps(plan.definition).encode()
    damaged = text[: cut % (len(text) + 1)] + noise
    try:
        raw = parse_definition(damaged, content_type)
    except DefinitionError as exc:
        assert exc.message
        return
    result = validate_definition(raw, REGISTRY)
    assert result.valid == (result.spec is not None)
    if result.valid:
        compile_workflow(result.spec, REGISTRY)
