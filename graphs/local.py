"""Run a workflow file on this machine with no server: SQLite checkpoints, gates asked on
the terminal, progress on stderr, the output as JSON on stdout."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path
from typing import Any, TextIO

from checkpoints import open_checkpointer
from graphs.compile import compile_workflow, input_errors
from graphs.errors import DefinitionError
from graphs.registry import Registry
from graphs.runner import (
    PendingGate,
    RunResult,
    decision_command,
    drive,
    has_work_left,
    settle,
)
from graphs.spec import WorkflowSpec, parse_definition
from graphs.validate import validate_definition

EXIT_OK, EXIT_FAILED, EXIT_WAITING = 0, 1, 3
_MARKS = {
    "node.started": "...",
    "node.completed": "ok ",
    "node.failed": "ERR",
    "node.skipped": "-- ",
    "node.retrying": "<> ",
    "node.progress": "   ",
}


def load_spec(path: Path, registry: Registry) -> WorkflowSpec:
    """Read and validate a definition file; raises DefinitionError listing every issue."""
    raw = parse_definition(path.read_bytes(), "yaml" if path.suffix in (".yaml", ".yml") else None)
    result = validate_definition(raw, registry)
    if result.spec is None:
        lines = [f"  {i.path or '(root)'}: {i.code}: {i.message}" for i in result.issues]
        raise DefinitionError(
            f"{path} is not a valid workflow:\n" + "\n".join(lines), result.issues
        )
    return result.spec


class Console:
    """Prints events as they come and asks for gate decisions."""

    def __init__(self, err: TextIO, stdin: TextIO) -> None:
        self.err = err
        self.stdin = stdin
        self.open_line = False

    async def event(self, event: dict[str, Any]) -> None:
        kind = event["type"]
        if kind == "message.delta":
            self.err.write(event["text"])
            self.open_line = True
            return
        if self.open_line:
            self.err.write("\n")
            self.open_line = False
        detail = ""
        if kind == "node.failed":
            detail = f": {event['error']['message']}"
        elif kind == "node.retrying":
            detail = (
                f": retry {event['attempt']} in {event['delay_seconds']:g} s ({event.get('error')})"
            )
        elif kind == "node.progress":
            detail = f" {json.dumps(event['data'])}"
        self.err.write(f"{_MARKS.get(kind, '   ')} {event.get('node_id', '')} {kind}{detail}\n")
        self.err.flush()

    def ask(self, gate: PendingGate) -> dict[str, Any] | None:
        """A decision typed by a person, or None when there is nobody to ask (end of input)."""
        payload = gate.payload if isinstance(gate.payload, dict) else {"value": gate.payload}
        self.err.write(f"\n[gate {gate.gate_id}] {payload.get('prompt') or 'Approve?'}\n")
        shown = {k: v for k, v in payload.items() if k not in ("gate_id", "node_id", "prompt")}
        self.err.write(json.dumps(shown, indent=2, default=str) + "\n")
        while True:
            self.err.write("approve or reject? [a/r] ")
            self.err.flush()
            line = self.stdin.readline()
            if not line:
                return None
            answer = line.strip().lower()
            if answer in ("a", "approve", "y", "yes", "r", "reject", "n", "no"):
                decision = "approve" if answer in ("a", "approve", "y", "yes") else "reject"
                return {"decision": decision, "comment": None, "data": None, "decided_by": "cli"}


async def run_file(
    path: Path,
    run_input: dict[str, Any],
    data_dir: Path,
    registry: Registry,
    resume: str | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
    stdin: TextIO = sys.stdin,
) -> int:
    """Run (or resume) a local run of the workflow in `path`; returns the exit code."""
    spec = load_spec(path, registry)
    problems = input_errors(spec, run_input)
    if problems and resume is None:
        err.write(
            "input does not match the workflow's input_schema:\n  " + "\n  ".join(problems) + "\n"
        )
        return EXIT_FAILED
    console = Console(err, stdin)
    async with open_checkpointer(str(data_dir / "local-runs.sqlite")) as saver:
        workflow = compile_workflow(spec, registry, saver)
        run_id = resume or str(uuid.uuid4())
        err.write(f"run {run_id}\n")
        timeout = spec.settings.max_execution_time_seconds
        result: RunResult | None
        if resume is None:
            result = await drive(
                workflow, run_id, workflow.initial_state(run_input), console.event, timeout=timeout
            )
        else:
            result = await _resume(workflow, run_id, console, timeout)
            if result is None:
                err.write(f"no local run {run_id} in {data_dir}\n")
                return EXIT_FAILED
        while result.status == "WAITING":
            decisions = {}
            for gate in result.gates:
                answer = console.ask(gate)
                if answer is None:
                    err.write(
                        f"\nwaiting at gate {gate.gate_id}; continue with: "
                        f"graphyard run {path} --resume {run_id}\n"
                    )
                    return EXIT_WAITING
                decisions[gate.interrupt_id] = answer
            result = await drive(
                workflow, run_id, decision_command(decisions), console.event, timeout=timeout
            )
    return _report(result, out, err)


async def _resume(
    workflow: Any, run_id: str, console: Console, timeout: float | None
) -> RunResult | None:
    snapshot = await workflow.graph.aget_state({"configurable": {"thread_id": run_id}})
    if not snapshot.values:
        return None
    if has_work_left(snapshot) and not any(t.interrupts for t in snapshot.tasks):
        return await drive(workflow, run_id, None, console.event, timeout=timeout)
    return await settle(workflow, run_id)


def _report(result: RunResult, out: TextIO, err: TextIO) -> int:
    if result.status == "FAILED":
        error = result.error or {}
        err.write(f"run failed: {error.get('code')}: {error.get('message')}\n")
        return EXIT_FAILED
    out.write(json.dumps(result.output, indent=2, default=str) + "\n")
    return EXIT_OK
