"""Kill drill: SIGKILL `graphyard run` in the middle of a node, then `--resume`: the nodes
that completed before the kill do not run again."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from graphs_testkit import log_lines

TOOLS_MODULE = textwrap.dedent('''
    """Tools of the kill drill: each appends to side-effects.log beside this file."""
    import asyncio
    from pathlib import Path

    from langchain_core.tools import tool

    HERE = Path(__file__).resolve().parent


    def _append(text: str) -> None:
        with open(HERE / "side-effects.log", "a") as fh:
            fh.write(text + "\\n")


    @tool
    async def drill_step(label: str) -> dict:
        """Record that this step ran."""
        _append(label)
        return {"label": label}


    @tool
    async def drill_slow_step(label: str) -> dict:
        """Record the start, wait long unless fast.flag exists, record the end."""
        _append(label + "-start")
        if not (HERE / "fast.flag").exists():
            await asyncio.sleep(30)
        _append(label)
        return {"label": label}
''')

DRILL = {"id": "drill", "steps": [
    {"id": "a", "type": "tool_call", "tool": "drill_step", "inputs": {"label": "a"}},
    {"id": "b", "type": "tool_call", "tool": "drill_slow_step", "inputs": {"label": "b"}},
    {"id": "c", "type": "tool_call", "tool": "drill_step",
     "inputs": {"label": "c{{ $b.label }}"}},
]}


def _wait_for(predicate: Callable[[], bool], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return False


@pytest.mark.slow
def test_sigkill_in_the_middle_then_resume(tmp_path: Path) -> None:
    (tmp_path / "drill_tools.py").write_text(TOOLS_MODULE)
    (tmp_path / "drill.yaml").write_text(yaml.safe_dump(DRILL, sort_keys=False))
    log = tmp_path / "side-effects.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHYARD_")}
    env["GRAPHYARD_TOOL_MODULES"] = "drill_tools"
    command = [sys.executable, "-m", "server.cli", "run", "drill.yaml", "--data-dir", "data"]

    with subprocess.Popen(command, cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as proc:
        assert proc.stderr is not None
        first_line = proc.stderr.readline()
        assert first_line.startswith("run "), first_line + proc.stderr.read()
        run_id = first_line.removeprefix("run ").strip()
        started = _wait_for(lambda: "b-start" in log_lines(log), 60)
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
        assert started, proc.stderr.read()
    assert proc.returncode == -signal.SIGKILL
    assert log_lines(log) == ["a", "b-start"]

    (tmp_path / "fast.flag").touch()
    began = time.monotonic()
    resumed = subprocess.run([*command, "--resume", run_id], cwd=tmp_path, env=env,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=60)
    assert resumed.returncode == 0, resumed.stderr
    assert time.monotonic() - began < 25  # b did not wait its 30 s again
    assert json.loads(resumed.stdout) == {"c": {"label": "cb"}}
    lines = log_lines(log)
    assert lines.count("a") == 1, lines  # completed before the kill: not run again
    assert lines.count("b") == 1 and lines.count("cb") == 1, lines  # c saw b's output
    assert lines == ["a", "b-start", "b-start", "b", "cb"]
