"""Retries with backoff, which errors are retryable, node timeouts, and the built-in
`delay` and `http_request` tools (the latter against a local HTTP server)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from graphs_testkit import Run, log_lines, start_run, tool_node, valid_spec
from langgraph.checkpoint.base import BaseCheckpointSaver

from graphs.compile import compile_workflow
from graphs.errors import HardError, NodeFailed, RetryableError, is_retryable
from graphs.registry import Registry
from graphs.runner import drive
from graphs.spec import RetrySpec

Saver = BaseCheckpointSaver[Any]


def flaky_node(node_id: str, log: Path, failures: int, kind: str = "retryable",
               **extra: Any) -> dict[str, Any]:
    inputs = {"log": str(log), "label": node_id, "failures": failures, "kind": kind}
    return tool_node(node_id, "fail_first", inputs=inputs, **extra)


# --- which errors are retryable ------------------------------------------------------------------


def _status_error(status: int) -> httpx.HTTPStatusError:
    request = httpx.Request("GET", "http://example.invalid/")
    response = httpx.Response(status, request=request)
    return httpx.HTTPStatusError(f"{status}", request=request, response=response)


@pytest.mark.parametrize(
    ("exc", "retryable"),
    [
        (RetryableError("rate limited"), True),
        (TimeoutError(), True),
        (ConnectionError("reset"), True),
        (ConnectionRefusedError(), True),
        (httpx.ConnectError("refused"), True),
        (_status_error(429), True),
        (_status_error(500), True),
        (_status_error(503), True),
        (_status_error(404), False),
        (_status_error(400), False),
        (HardError("bad input"), False),
        (ValueError("bad"), False),
        (RuntimeError("boom"), False),
        (KeyError("k"), False),
    ],
)
def test_is_retryable(exc: BaseException, retryable: bool) -> None:
    assert is_retryable(exc) is retryable


def test_backoff_delays_are_exponential_and_capped() -> None:
    policy = RetrySpec(max_attempts=6, initial_interval_seconds=0.5, backoff_factor=3,
                       max_interval_seconds=5)
    assert [policy.delay(n) for n in range(1, 6)] == [0.5, 1.5, 4.5, 5.0, 5.0]


# --- retries in a run ----------------------------------------------------------------------------


async def test_retry_with_backoff(registry: Registry, saver: Saver, log: Path) -> None:
    retry = {"max_attempts": 5, "initial_interval_seconds": 0.01, "backoff_factor": 2,
             "max_interval_seconds": 0.03}
    definition = {"id": "retry", "steps": [flaky_node("a", log, failures=4, retry=retry)]}
    run = await start_run(definition, registry, saver)
    assert run.result.status == "COMPLETED"
    assert run.result.records["a"]["attempts"] == 5
    assert run.result.records["a"]["output"] == {"label": "a", "calls": 5}
    retrying = run.of_type("node.retrying", "a")
    assert [e["attempt"] for e in retrying] == [2, 3, 4, 5]
    assert [e["delay_seconds"] for e in retrying] == [0.01, 0.02, 0.03, 0.03]
    assert "a failed on call 1" in retrying[0]["error"]
    assert [e["attempt"] for e in run.of_type("node.started", "a")] == [1, 2, 3, 4, 5]
    assert len(log_lines(log)) == 5


async def test_max_retries_shorthand(registry: Registry, saver: Saver, log: Path) -> None:
    definition = {"id": "short", "steps": [flaky_node("a", log, failures=1, max_retries=1)]}
    spec = valid_spec(definition, registry)
    assert spec.nodes[0].retry_policy.max_attempts == 2
    run = await start_run(definition, registry, saver)
    assert run.result.status == "COMPLETED"
    assert run.result.records["a"]["attempts"] == 2
    assert [e["delay_seconds"] for e in run.of_type("node.retrying")] == [0.5]


@pytest.mark.parametrize("kind", ["retryable", "timeout", "connection"])
async def test_retryable_errors_are_retried(registry: Registry, saver: Saver, log: Path,
                                            kind: str) -> None:
    retry = {"max_attempts": 3, "initial_interval_seconds": 0}
    definition = {"id": "r", "steps": [flaky_node("a", log, failures=2, kind=kind, retry=retry)]}
    run = await start_run(definition, registry, saver)
    assert run.result.status == "COMPLETED"
    assert run.result.records["a"]["attempts"] == 3


@pytest.mark.parametrize(("kind", "code"), [("hard", "hard_error"), ("value", "node_error")])
async def test_other_errors_fail_at_once(registry: Registry, saver: Saver, log: Path,
                                         kind: str, code: str) -> None:
    retry = {"max_attempts": 5, "initial_interval_seconds": 0}
    definition = {"id": "h", "steps": [flaky_node("a", log, failures=1, kind=kind, retry=retry)]}
    run = await start_run(definition, registry, saver)
    assert run.result.status == "FAILED"
    assert run.result.error is not None and run.result.error["code"] == code
    assert run.result.retryable is False
    assert log_lines(log) == ["a"]  # one attempt only
    assert run.of_type("node.retrying") == []


async def test_exhausted_retryable_error_is_retryable(registry: Registry, saver: Saver,
                                                      log: Path) -> None:
    retry = {"max_attempts": 2, "initial_interval_seconds": 0}
    definition = {"id": "x", "steps": [flaky_node("a", log, failures=9, retry=retry)]}
    spec = valid_spec(definition, registry)
    workflow = compile_workflow(spec, registry, saver)
    with pytest.raises(NodeFailed) as info:  # what the node raises without a runner around it
        await workflow.graph.ainvoke(workflow.initial_state({}),
                                     {"configurable": {"thread_id": "raw"}})
    assert info.value.retryable is True and info.value.attempts == 2
    assert info.value.node_id == "a" and info.value.code == "retryable_error"

    run = await start_run(definition, registry, saver)
    assert run.result.status == "FAILED"
    assert run.result.retryable is True
    assert run.result.error is not None and run.result.error["code"] == "retryable_error"


async def test_timeout_seconds_cuts_a_slow_node(registry: Registry, saver: Saver) -> None:
    definition = {"id": "t", "steps": [
        tool_node("slow", "nap", inputs={"seconds": 10}, timeout_seconds=0.2)]}
    began = time.perf_counter()
    run = await start_run(definition, registry, saver)
    assert time.perf_counter() - began < 2
    assert run.result.status == "FAILED"
    assert run.result.error is not None
    assert run.result.error["code"] == "timeout" and run.result.error["node_id"] == "slow"
    assert "0.2" in run.result.error["message"]
    assert run.result.retryable is True


async def test_a_timed_out_attempt_is_retried(registry: Registry, saver: Saver) -> None:
    retry = {"max_attempts": 2, "initial_interval_seconds": 0}
    definition = {"id": "t2", "settings": {"stop_on_failure": False}, "steps": [
        tool_node("slow", "nap", inputs={"seconds": 10}, timeout_seconds=0.1, retry=retry)]}
    run = await start_run(definition, registry, saver)
    record = run.result.records["slow"]
    assert record["status"] == "FAILED" and record["attempts"] == 2
    assert record["error"]["code"] == "timeout"
    assert len(run.of_type("node.retrying", "slow")) == 1


# --- the built-in delay tool ---------------------------------------------------------------------


async def test_delay_reports_progress(registry: Registry, saver: Saver) -> None:
    definition = {"id": "d", "steps": [
        tool_node("wait", "delay", inputs={"seconds": 1.05, "message": "done"})]}
    run = await start_run(definition, registry, saver)
    assert run.result.output == {"wait": {"waited_seconds": 1.05, "message": "done"}}
    progress = run.of_type("node.progress", "wait")
    assert progress, "a delay over one second reports progress"
    assert 0.9 <= progress[0]["data"]["waited_seconds"] <= 1.05
    assert progress[-1]["data"]["waited_seconds"] == pytest.approx(1.05, abs=0.02)


async def test_delay_is_cancellable(registry: Registry, saver: Saver) -> None:
    spec = valid_spec({"id": "d", "steps": [tool_node("wait", "delay", inputs={"seconds": 60})]},
                      registry)
    workflow = compile_workflow(spec, registry, saver)
    started = asyncio.Event()

    async def sink(event: dict[str, Any]) -> None:
        if event["type"] == "node.started":
            started.set()

    task = asyncio.create_task(drive(workflow, "cancel-me", workflow.initial_state({}), sink))
    await asyncio.wait_for(started.wait(), 5)
    await asyncio.sleep(0.05)
    began = time.perf_counter()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert time.perf_counter() - began < 1


# --- the built-in http_request tool --------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {"/ok": (200, {"hello": "world"}), "/busy": (503, {"error": "busy"}),
                  "/slow-down": (429, {"error": "rate"}), "/missing": (404, {"error": "gone"})}
        status, body = routes.get(self.path.split("?")[0], (500, {}))
        payload = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def http_base() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


async def _http_run(registry: Registry, saver: Saver, url: str, run_id: str) -> Run:
    retry = {"max_attempts": 2, "initial_interval_seconds": 0}
    definition = {"id": "http", "steps": [
        tool_node("call", "http_request", inputs={"url": url}, retry=retry)]}
    return await start_run(definition, registry, saver, run_id=run_id)


async def test_http_request_returns_the_json_body(registry: Registry, saver: Saver,
                                                  http_base: str) -> None:
    run = await _http_run(registry, saver, f"{http_base}/ok", "ok")
    assert run.result.status == "COMPLETED"
    output = run.result.records["call"]["output"]
    assert output["status"] == 200 and output["body"] == {"hello": "world"}
    assert output["headers"]["content-type"] == "application/json"


@pytest.mark.parametrize("path", ["/busy", "/slow-down"])
async def test_http_429_and_5xx_are_retried(registry: Registry, saver: Saver, http_base: str,
                                            path: str) -> None:
    run = await _http_run(registry, saver, f"{http_base}{path}", "busy")
    assert run.result.status == "FAILED"
    assert run.result.retryable is True
    assert len(run.of_type("node.retrying", "call")) == 1


async def test_http_404_fails_at_once(registry: Registry, saver: Saver, http_base: str) -> None:
    run = await _http_run(registry, saver, f"{http_base}/missing", "missing")
    assert run.result.status == "FAILED"
    assert run.result.retryable is False
    assert run.result.error is not None and "404" in run.result.error["message"]
    assert run.of_type("node.retrying") == []


async def test_http_connection_refused_is_retryable(registry: Registry, saver: Saver) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    run = await _http_run(registry, saver, f"http://127.0.0.1:{port}/", "refused")
    assert run.result.status == "FAILED" and run.result.retryable is True
