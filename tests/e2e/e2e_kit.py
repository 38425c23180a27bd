"""A real `graphyard serve` process for end-to-end tests, and helpers to talk to it.

`Server` starts `python -m server.cli serve` in its own directory (the cwd, which holds the
test tools module and the side-effect files), waits for /healthz, and stops it with
SIGTERM or SIGKILL; `start()` again runs a new process on the same data directory.
Every wait here is bounded.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from itertools import pairwise
from pathlib import Path
from typing import Any

import httpx
from proc_kit import Event, ServerProcess, parse_sse, wait_until

TOKEN = "e2e-admin-token"
PROJECT = "default"
TOOLS_MODULE = "e2e_tools"
TOOLS_SOURCE = Path(__file__).with_name("e2e_tools_source.py")
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def new_tag() -> str:
    return "t" + uuid.uuid4().hex[:10]


class Server(ServerProcess):
    """One Graphyard server process at a time, on one directory and data directory."""

    TOKEN = TOKEN
    TOOLS_MODULE = TOOLS_MODULE
    TOOLS_SOURCE = TOOLS_SOURCE
    DIR_ENV = "GRAPHYARD_E2E_DIR"
    LABEL = "e2e"

    # -- HTTP ----------------------------------------------------------------------------

    @staticmethod
    def api(path: str = "") -> str:
        return f"/api/projects/{PROJECT}{path}"

    @staticmethod
    def runs(path: str = "") -> str:
        return f"/api/projects/{PROJECT}/workflows/runs{path}"

    def create_workflow(self, definition: dict[str, Any]) -> dict[str, Any]:
        response = self.http.post(self.api("/workflows"), json=definition)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def start_run(
        self,
        workflow_id: str,
        run_input: dict[str, Any] | None = None,
        *,
        execute: bool = True,
        wait: bool = False,
        timeout: float = 30,
    ) -> dict[str, Any]:
        body = {"workflow_id": workflow_id, "input": run_input or {}, "execute": execute,
                "wait": wait, "timeout_seconds": timeout}
        response = self.http.post(self.runs(), json=body, timeout=timeout + 10)
        assert response.status_code == 201, response.text
        return dict(response.json())

    def run(self, run_id: str) -> dict[str, Any]:
        response = self.http.get(self.runs(f"/{run_id}"))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def status(self, run_id: str) -> dict[str, Any]:
        response = self.http.get(self.runs(f"/{run_id}/status"))
        assert response.status_code == 200, response.text
        return dict(response.json())

    def node_states(self, run_id: str) -> dict[str, str]:
        return {n["node_id"]: n["status"] for n in self.status(run_id)["node_states"]}

    def gates(self, run_id: str) -> dict[str, dict[str, Any]]:
        response = self.http.get(self.runs(f"/{run_id}/gates"))
        assert response.status_code == 200, response.text
        return {g["gate_id"]: g for g in response.json()["items"]}

    def action(self, run_id: str, name: str, body: dict[str, Any] | None = None) -> httpx.Response:
        return self.http.post(self.runs(f"/{run_id}/{name}"), json=body)

    def decide(self, run_id: str, gate_id: str, decision: str = "approve") -> httpx.Response:
        return self.http.post(
            self.runs(f"/{run_id}/gates/{gate_id}/decision"), json={"decision": decision}
        )

    def wait_for(
        self, run_id: str, statuses: tuple[str, ...] | str = TERMINAL, timeout: float = 30
    ) -> dict[str, Any]:
        """Poll the run until its status is one of `statuses`; fail after `timeout` s."""
        wanted = (statuses,) if isinstance(statuses, str) else statuses
        return wait_until(
            lambda: (run := self.run(run_id))["status"] in wanted and run,
            timeout,
            lambda: f"run {run_id} not {wanted}: {self.run(run_id)['status']}",
        )

    def wait_node(self, run_id: str, node_id: str, status: str, timeout: float = 20) -> None:
        wait_until(
            lambda: self.node_states(run_id).get(node_id) == status,
            timeout,
            lambda: f"node {node_id} not {status}: {self.node_states(run_id)}",
        )

    @contextmanager
    def sse(
        self,
        run_id: str,
        *,
        last_event_id: int | None = None,
        use_query: bool = False,
        read_timeout: float = 20,
    ) -> Iterator[Iterator[Event]]:
        """Open the run's event stream; yields an iterator of events that ends on close."""
        headers: dict[str, str] = {}
        params: dict[str, Any] = {}
        if last_event_id is not None:
            if use_query:
                params["last_event_id"] = last_event_id
            else:
                headers["Last-Event-ID"] = str(last_event_id)
        timeout = httpx.Timeout(10, read=read_timeout)
        with self.http.stream(
            "GET", self.runs(f"/{run_id}/events"), headers=headers, params=params, timeout=timeout
        ) as response:
            assert response.status_code == 200, response.read().decode()
            assert response.headers["content-type"].startswith("text/event-stream")
            yield parse_sse(response.iter_lines())

    def events(self, run_id: str, **kwargs: Any) -> list[Event]:
        """Every event the stream sends until the server closes it."""
        with self.sse(run_id, **kwargs) as stream:
            return list(stream)

    def events_until(
        self, run_id: str, done: Callable[[list[Event]], bool], **kwargs: Any
    ) -> list[Event]:
        """Events from the start of the stream until `done(events so far)` (or the close)."""
        got: list[Event] = []
        with self.sse(run_id, **kwargs) as stream:
            for event in stream:
                got.append(event)
                if done(got):
                    break
        return got

    # -- side effects --------------------------------------------------------------------

    def effects(self, tag: str) -> list[str]:
        """The names the test tools recorded for `tag`, in order."""
        path = self.root / "effects.log"
        if not path.exists():
            return []
        lines = [line.split(" ", 1) for line in path.read_text().splitlines() if line]
        return [name for t, name in lines if t == tag]

    def set_flag(self, tag: str, name: str) -> None:
        (self.root / "flags" / f"{tag}.{name}").touch()

    def wait_effect(self, tag: str, name: str, timeout: float = 20) -> None:
        wait_until(lambda: name in self.effects(tag), timeout,
                   lambda: f"{name!r} not recorded: {self.effects(tag)}")


MakeServer = Callable[..., Server]


def shutdown(server: Server) -> None:
    """Teardown: stop the process if it still runs (SIGTERM, else SIGKILL)."""
    server.shutdown()


# -- definitions -------------------------------------------------------------------------


def tool_node(node_id: str, tool: str = "record", **extra: Any) -> dict[str, Any]:
    """A tool_call node of the test tools: `tag` from the run input, `name` = the node id."""
    inputs = {"tag": "$input.tag", "name": node_id, **extra.pop("inputs", {})}
    return {"id": node_id, "type": "tool_call", "tool": tool, "inputs": inputs, **extra}


def chain(workflow_id: str, nodes: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    """Nodes run one after the other."""
    edges = [{"from": a["id"], "to": b["id"]} for a, b in pairwise(nodes)]
    return {"id": workflow_id, "name": workflow_id, "nodes": nodes, "edges": edges, **extra}


def seqs(events: list[Event]) -> list[int]:
    return [e.data["seq"] for e in events]


def assert_contiguous(events: list[Event], first: int = 1) -> None:
    """ids start at `first`, go up by one, and agree with each event's data."""
    ids = [e.id for e in events]
    assert ids == list(range(first, first + len(events))), ids
    assert ids == seqs(events)
    assert [e.event for e in events] == [e.type for e in events]
