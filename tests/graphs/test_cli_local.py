"""`graphyard validate | schema | run` as a user runs them: a subprocess in a fresh directory.

Each start of the CLI costs seconds of imports, so the one-shot invocations are started
together (in threads) by a module fixture, and each test checks the one it is about.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import yaml

GOOD = {"id": "good", "steps": [
    {"id": "a", "type": "tool_call", "tool": "echo", "inputs": {"value": "$input.word"}},
    {"id": "b", "type": "tool_call", "tool": "echo",
     "inputs": {"value": {"said": "$a", "again": "{{ $a }}!"}}},
]}
BAD = {"id": "runs", "nodes": [
    {"id": "a", "type": "tool_call", "tool": "no_such_tool"},
    {"id": "b", "type": "condition", "expression": "open('x')"},
], "edges": [{"from": "a", "to": "b"}, {"from": "b", "to": "ghost", "default": True}]}
GATED = {"id": "gated", "steps": [
    {"id": "ask", "type": "human_gate", "prompt": "Ship {{ $input.thing }}?",
     "inputs": {"thing": "$input.thing"}},
    {"id": "ship", "type": "tool_call", "tool": "echo",
     "inputs": {"value": {"shipped": "$input.thing", "by": "$ask.decided_by"}}},
]}


def graphyard(cwd: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHYARD_")}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", *args], cwd=cwd, input=stdin,
        capture_output=True, text=True, timeout=90, env=env,
    )


def write(directory: Path, name: str, definition: dict[str, Any]) -> str:
    (directory / name).write_text(yaml.safe_dump(definition, sort_keys=False))
    return name


# name -> (files to write, arguments, stdin)
INVOCATIONS: dict[str, tuple[dict[str, Any], list[str], str]] = {
    "validate_good": ({"good.yaml": GOOD}, ["validate", "good.yaml"], ""),
    "validate_many": ({"good.yaml": GOOD, "bad.yaml": BAD, "broken.json": "{nope"},
                      ["validate", "good.yaml", "bad.yaml", "broken.json", "missing.yaml"], ""),
    "schema": ({}, ["schema"], ""),
    "gate_approved": ({"gated.yaml": GATED},
                      ["run", "gated.yaml", "--input", '{"thing": "crate"}', "--data-dir", "data"],
                      "maybe\na\n"),
    "gate_unanswered": ({"gated.yaml": GATED},
                        ["run", "gated.yaml", "--input", '{"thing": "crate"}'], ""),
}


@pytest.fixture(scope="module")
def cli(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Every one-shot invocation, each in its own fresh directory, run concurrently."""
    base = tmp_path_factory.mktemp("cli")
    dirs: dict[str, Path] = {}
    for name, (files, _, _) in INVOCATIONS.items():
        dirs[name] = base / name
        dirs[name].mkdir()
        for filename, content in files.items():
            if isinstance(content, str):
                (dirs[name] / filename).write_text(content)
            else:
                write(dirs[name], filename, content)
    with ThreadPoolExecutor(max_workers=len(INVOCATIONS)) as pool:
        futures = {name: pool.submit(graphyard, dirs[name], *args, stdin=stdin)
                   for name, (_, args, stdin) in INVOCATIONS.items()}
        return {name: future.result() for name, future in futures.items()} | {"dirs": dirs}


def test_validate_a_valid_file(cli: dict[str, Any]) -> None:
    done = cli["validate_good"]
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "good.yaml: valid (a | b)"


def test_validate_reports_every_issue_with_its_path(cli: dict[str, Any]) -> None:
    done = cli["validate_many"]
    assert done.returncode == 1
    lines = done.stdout.splitlines()
    assert lines[0] == "good.yaml: valid (a | b)"
    assert lines[1] == "bad.yaml: 5 issue(s)"
    issues = [line.strip().split(": ")[:2] for line in lines[2:]]
    assert sorted(issues) == sorted([
        ["id", "invalid_value"], ["nodes[0].tool", "unknown_tool"],
        ["nodes[1].expression", "invalid_expression"], ["edges[1].to", "unknown_node"],
        ["nodes[1]", "invalid_value"],  # with its only out-edge unknown, b routes nowhere
    ])
    assert "broken.json: definition is not valid JSON" in done.stderr
    assert "missing.yaml" in done.stderr
    assert not (cli["dirs"]["validate_many"] / "x").exists()  # open('x') never ran


def test_schema_prints_the_json_schema(cli: dict[str, Any]) -> None:
    done = cli["schema"]
    assert done.returncode == 0
    schema = json.loads(done.stdout)
    assert schema["title"] == "Graphyard workflow definition"
    assert "nodes" in schema["properties"]


def test_run_answers_a_gate_from_stdin_and_prints_the_output(cli: dict[str, Any]) -> None:
    done = cli["gate_approved"]
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {"ship": {"shipped": "crate", "by": "cli"}}
    assert done.stderr.splitlines()[0].startswith("run ")
    assert "[gate ask] Ship crate?" in done.stderr
    assert done.stderr.count("approve or reject? [a/r]") == 2  # "maybe" is asked again
    assert "ok  ship node.completed" in done.stderr
    assert (cli["dirs"]["gate_approved"] / "data" / "local-runs.sqlite").exists()


def test_run_waits_without_an_answer_then_resumes(cli: dict[str, Any]) -> None:
    first = cli["gate_unanswered"]
    assert first.returncode == 3, first.stderr
    assert first.stdout == ""
    run_id = first.stderr.splitlines()[0].removeprefix("run ").strip()
    assert f"--resume {run_id}" in first.stderr

    second = graphyard(cli["dirs"]["gate_unanswered"], "run", "gated.yaml", "--resume", run_id,
                       stdin="a\n")
    assert second.returncode == 0, second.stderr
    assert second.stderr.splitlines()[0] == f"run {run_id}"
    assert json.loads(second.stdout) == {"ship": {"shipped": "crate", "by": "cli"}}

