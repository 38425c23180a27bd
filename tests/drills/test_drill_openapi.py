"""Schemathesis against the app's own /openapi.json (issue 4), in-process through ASGI with
the real lifespan and a real SQLite data directory: with the server admin token and with a
project key, no request gets a 5xx and every response matches what the OpenAPI document
says (status code, content type, headers, body schema).

Generated path parameters are pointed at real resources part of the time (the project,
its workflows, runs in every state, a gate, spare API keys), so that the success responses
are checked too and not only the 404s.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.python import asgi as schemathesis_asgi

from server.app import create_app
from server.settings import Settings

ADMIN = "openapi-drill-admin-token"
PID = "acme"
ECHO = {"id": "e", "type": "tool_call", "tool": "echo", "inputs": {"value": "$input"}}
GATED = {"id": "gated", "steps": [ECHO, {"id": "g", "type": "human_gate", "prompt": "ok?"}]}
MAX_EXAMPLES = 12


class World:
    """What the drill seeded: tokens, and the real ids to point path parameters at."""

    def __init__(self) -> None:
        self.tokens: dict[str, str] = {"admin": ADMIN}
        self.runs: list[str] = []  # runs in every state: PENDING, WAITING, COMPLETED, FAILED
        self.finished: list[str] = []  # for the event stream, which stays open until the end
        self.workflows = ["flow", "gated"]
        self.spare_keys: list[str] = []

    def pick(self, generated: Any, choices: list[str]) -> Any:
        """A real id for about two of three generated values (chosen by the value, so the
        choice is the same when Hypothesis replays a case); the generated one otherwise."""
        if not choices:
            return generated
        slot = len(str(generated)) % (len(choices) + 1)
        return choices[slot] if slot < len(choices) else generated


WORLD = World()


def _seed(client: Any) -> None:
    admin = {"Authorization": f"Bearer {ADMIN}"}

    def post(path: str, body: dict[str, Any], expect: int = 201) -> dict[str, Any]:
        response = client.post(path, json=body, headers=admin)
        assert response.status_code == expect, response.text
        return dict(response.json())

    post("/api/projects", {"id": PID, "name": "Acme"})
    WORLD.tokens["project"] = post(
        f"/api/projects/{PID}/api-keys", {"name": "drill", "role": "admin"}
    )["key"]
    WORLD.spare_keys = [
        post(f"/api/projects/{PID}/api-keys", {"name": f"spare{i}", "role": "viewer"})["id"]
        for i in range(3)
    ]
    post(f"/api/projects/{PID}/workflows", {"id": "flow", "steps": [ECHO]})
    post(f"/api/projects/{PID}/workflows", GATED)
    runs = f"/api/projects/{PID}/workflows/runs"
    for workflow, execute in (("flow", True), ("gated", True), ("gated", True), ("flow", False)):
        run = post(
            runs, {"workflow_id": workflow, "input": {"x": 1}, "execute": execute, "wait": execute}
        )
        WORLD.runs.append(run["run_id"])
        if run["status"] == "COMPLETED":
            WORLD.finished.append(run["run_id"])
    # a run that failed: its only node fails at once
    post(
        f"/api/projects/{PID}/workflows",
        {
            "id": "broken",
            "steps": [
                {"id": "h", "type": "tool_call", "tool": "http_request", "inputs": {"url": "nope"}}
            ],
        },
    )
    failed = post(runs, {"workflow_id": "broken", "execute": True, "wait": True})
    assert failed["status"] == "FAILED", failed
    WORLD.runs.append(failed["run_id"])
    WORLD.finished.append(failed["run_id"])
    WORLD.workflows.append("broken")


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    data_dir = Path(tmp_path_factory.mktemp("openapi")) / "data"
    app = create_app(Settings(data_dir=data_dir, admin_token=ADMIN, load_examples=False))
    # Schemathesis runs the app's lifespan itself (on its own event loop thread) for as long
    # as the process lives; it is stopped at the end of this module.
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    with schemathesis_asgi.get_client(app) as client:
        _seed(client)
    schema.config.update(request_timeout=5)
    yield schema
    schemathesis_asgi.shutdown_lifespans()


schema = schemathesis.pytest.from_fixture("api_schema")


INT64 = 2**63


def portable(value: Any) -> Any:
    """`value` with integers clamped to 64 bits. The server refuses (422) free-form values a
    checkpoint cannot hold (docs/server.md); the OpenAPI document cannot say so for values
    nested in a free-form object, so a positive case is kept within the limit."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return max(-INT64, min(INT64 - 1, value))
    if isinstance(value, list):
        return [portable(item) for item in value]
    if isinstance(value, dict):
        return {key: portable(item) for key, item in value.items()}
    return value


def point_at_real_resources(case: Any) -> None:
    """Only in cases that fit the schema: a negative case must stay as it was drawn."""
    if case.meta is not None and case.meta.generation.mode != "positive":
        return
    params = case.path_parameters or {}
    if "pid" in params:
        params["pid"] = WORLD.pick(params["pid"], [PID, PID])
    if "rid" in params:
        live_stream = case.operation.path.endswith("/events")
        params["rid"] = WORLD.pick(params["rid"], WORLD.finished if live_stream else WORLD.runs)
    if "wid" in params and case.method in ("GET", "HEAD"):
        params["wid"] = WORLD.pick(params["wid"], WORLD.workflows)
    if "gate_id" in params:
        params["gate_id"] = WORLD.pick(params["gate_id"], ["g"])
    if "key_id" in params:
        params["key_id"] = WORLD.pick(params["key_id"], WORLD.spare_keys)
    if isinstance(case.body, dict | list):  # a body left unset must stay unset
        case.body = portable(case.body)
    body = case.body
    if isinstance(body, dict) and isinstance(body.get("workflow_id"), str):
        body["workflow_id"] = WORLD.pick(body["workflow_id"], WORLD.workflows)
        if body.get("wait") is True:
            body["timeout_seconds"] = 2  # a run of a generated definition may take long


# API.md answers a schema-valid request with 400 when the run's state does not allow the
# action (execute a WAITING run, pause a finished one), and with 422 when a definition is
# well formed but not a valid graph (a cycle, an unknown tool, a dangling reference), which
# no JSON Schema can express. So "schema-valid data is accepted" cannot hold for those
# operations: that one check is left out there, and every other check still runs on them.
CONTRACT_REFUSES_VALID_DATA = re.compile(
    r"^(POST /api/projects/\{pid\}/workflows/runs/\{rid\}/(execute|cancel|pause|resume|retry)"
    r"|POST /api/projects/\{pid\}/workflows|PUT /api/projects/\{pid\}/workflows/\{wid\})$"
)


def excluded_checks(case: Any) -> list[Any]:
    label = f"{case.method.upper()} {case.operation.path}"
    if CONTRACT_REFUSES_VALID_DATA.match(label):
        return [schemathesis.checks.positive_data_acceptance]
    return []


def call_and_validate(case: Any) -> None:
    point_at_real_resources(case)
    for who in ("admin", "project"):
        started = time.monotonic()
        case.call_and_validate(
            headers={"Authorization": f"Bearer {WORLD.tokens[who]}"},
            excluded_checks=excluded_checks(case),
        )
        assert time.monotonic() - started < 15


# Operations whose body is a workflow definition: its schema has so many optional parts, in
# three media types, that Schemathesis' coverage phase alone makes some 1600 cases of each.
# They get randomly generated cases only (more of them); every other operation gets both.
DEFINITION_BODY = r"^/api/projects/\{pid\}/workflows(/validate|/\{wid\})?$"
DEFINITION_METHODS = r"^(POST|PUT)$"
DRILL = settings(deadline=None, database=None, suppress_health_check=list(HealthCheck))
# The app runs on Schemathesis' event loop thread, where a run started by one case may still
# be writing checkpoints (LangGraph's checkpoint ids draw on `random`) while Hypothesis draws
# the next case; Hypothesis warns about that use of `random`, which does not touch the drill.
RANDOM_IN_APP_THREAD = (
    "ignore:Do not use the `random` module inside strategies"
    ":hypothesis.errors.HypothesisDeprecationWarning"
)


@schema.exclude(path_regex=DEFINITION_BODY, method_regex=DEFINITION_METHODS).parametrize()
@settings(DRILL, max_examples=MAX_EXAMPLES, phases=[Phase.explicit, Phase.generate])
@pytest.mark.filterwarnings(RANDOM_IN_APP_THREAD)
def test_no_5xx_and_every_response_as_documented(case: Any) -> None:
    call_and_validate(case)


@schema.include(path_regex=DEFINITION_BODY, method_regex=DEFINITION_METHODS).parametrize()
@settings(DRILL, max_examples=4 * MAX_EXAMPLES, phases=[Phase.generate])
@pytest.mark.filterwarnings(RANDOM_IN_APP_THREAD)
def test_definition_bodies_no_5xx_and_as_documented(case: Any) -> None:
    call_and_validate(case)
