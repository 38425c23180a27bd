"""Real `graphyard serve` processes for the drills, and helpers to talk to them.

`DrillServer` starts `python -m server.cli serve` on 127.0.0.1 in its own directory (the
cwd, which holds the drill tools module, flag files and the side-effect log), waits for
/healthz, and stops it with SIGTERM or SIGKILL; `start()` again runs a new process on the
same data directory. `run_cli` runs a command that is expected to exit by itself. Every
wait here is bounded.
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Callable
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
from proc_kit import (
    Event,
    ServerProcess,
    parse_sse,
    server_env,
    wait_until,
)

TOKEN = "drill-admin-token"
PROJECT = "default"
TOOLS_MODULE = "drill_tools"
TOOLS_SOURCE = Path(__file__).with_name("drill_tools_source.py")
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
ERROR_KEYS = {"error", "message", "details"}


def new_tag() -> str:
    return "d" + uuid.uuid4().hex[:10]


def base_env(**extra: str) -> dict[str, str]:
    """The environment of a server process: no GRAPHYARD_* of the caller, a known token."""
    return server_env(TOKEN, **extra)


def run_cli(
    args: list[str], cwd: Path, env: dict[str, str], timeout: float = 30
) -> tuple[int, str, float]:
    """Run a command that should end by itself: (exit code, stdout + stderr, seconds)."""
    started = time.monotonic()
    done = subprocess.run(args, cwd=cwd, env=env, capture_output=True, timeout=timeout, check=False)
    output = (done.stdout + done.stderr).decode(errors="replace")
    return done.returncode, output, time.monotonic() - started


def assert_error_body(response: httpx.Response, status: int | tuple[int, ...]) -> dict[str, Any]:
    """The response has one of `status` and the API's error body; returns the body."""
    wanted = (status,) if isinstance(status, int) else status
    assert response.status_code in wanted, (response.status_code, response.text[:500])
    assert response.headers.get("content-type", "").startswith("application/json"), response.headers
    body: dict[str, Any] = response.json()
    assert set(body) == ERROR_KEYS, body
    assert isinstance(body["error"], str) and body["error"], body
    assert isinstance(body["message"], str) and body["message"], body
    assert isinstance(body["details"], dict), body
    return body


class DrillServer(ServerProcess):
    """One Graphyard server process at a time, on one directory and data directory."""

    TOKEN = TOKEN
    TOOLS_MODULE = TOOLS_MODULE
    TOOLS_SOURCE = TOOLS_SOURCE
    DIR_ENV = "GRAPHYARD_DRILL_DIR"
    LABEL = "drill"

    # -- HTTP ----------------------------------------------------------------------------

    @staticmethod
    def runs(path: str = "", project: str = PROJECT) -> str:
        return f"/api/projects/{project}/workflows/runs{path}"

    def healthy(self) -> bool:
        return self.http.get("/healthz", timeout=5).json() == {"status": "ok"}

    def create_workflow(self, definition: dict[str, Any], project: str = PROJECT) -> None:
        response = self.http.post(f"/api/projects/{project}/workflows", json=definition)
        assert response.status_code == 201, response.text

    def start_run(
        self,
        workflow_id: str,
        run_input: dict[str, Any],
        *,
        wait: bool = False,
        project: str = PROJECT,
        headers: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        body = {
            "workflow_id": workflow_id,
            "input": run_input,
            "execute": True,
            "wait": wait,
            "timeout_seconds": 30,
        }
        response = self.http.post(
            self.runs(project=project), json=body, headers=headers, timeout=40
        )
        assert response.status_code == 201, response.text
        return dict(response.json())

    def run(self, run_id: str) -> dict[str, Any]:
        response = self.http.get(self.runs(f"/{run_id}"))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def wait_terminal(self, run_ids: list[str], timeout: float) -> dict[str, dict[str, Any]]:
        """Poll until every run is terminal; fail after `timeout` s."""
        runs: dict[str, dict[str, Any]] = {}

        def all_done() -> bool:
            for run_id in run_ids:
                if runs.get(run_id, {}).get("status") not in TERMINAL:
                    runs[run_id] = self.run(run_id)
            return all(runs[r]["status"] in TERMINAL for r in run_ids)

        wait_until(
            all_done, timeout, lambda: str({r: v["status"] for r, v in runs.items()}), every=0.25
        )
        return runs

    def events(self, run_id: str) -> list[Event]:
        """Every event of a finished run (the stream replays and closes)."""
        timeout = httpx.Timeout(10, read=20)
        with self.http.stream("GET", self.runs(f"/{run_id}/events"), timeout=timeout) as resp:
            assert resp.status_code == 200, resp.read().decode()
            return list(parse_sse(resp.iter_lines()))

    # -- side effects --------------------------------------------------------------------

    def effects(self, tag: str | None = None) -> list[tuple[str, str]]:
        """(tag, name) of every side effect the drill tools recorded, in order."""
        path = self.root / "effects.log"
        if not path.exists():
            return []
        pairs = [tuple(line.split(" ", 1)) for line in path.read_text().splitlines() if line]
        return [(t, n) for t, n in pairs if tag is None or t == tag]

    def set_flag(self, tag: str, name: str) -> None:
        (self.root / "flags" / f"{tag}.{name}").touch()


MakeServer = Callable[..., DrillServer]


def tool_node(node_id: str, tool: str = "record", **inputs: Any) -> dict[str, Any]:
    """A node of the drill tools: `tag` from the run input, `name` = the node id."""
    return {
        "id": node_id,
        "type": "tool_call",
        "tool": tool,
        "inputs": {"tag": "$input.tag", "name": node_id, **inputs},
    }


def chain(workflow_id: str, nodes: list[dict[str, Any]]) -> dict[str, Any]:
    """Nodes run one after the other."""
    edges = [{"from": a["id"], "to": b["id"]} for a, b in pairwise(nodes)]
    return {"id": workflow_id, "nodes": nodes, "edges": edges}
