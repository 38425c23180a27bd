"""Hostile input against a real server process (issue 4): bodies over the size limit (with
and without Content-Length), deeply nested JSON, YAML bombs and tags, 10k-node graphs,
control characters and unicode tricks in ids, 1 MB binding strings, huge numbers,
NaN/Infinity, wrong content types. Each gets a clear 4xx with the API error body within a
few seconds, and afterwards the server is healthy and serves a new project normally."""

from __future__ import annotations

import json
import socket
import time
import uuid
from collections.abc import Iterable, Iterator
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from drills_kit import TOKEN, DrillServer, assert_error_body, chain

LIMIT = 1024 * 1024  # the server's default GRAPHYARD_MAX_BODY_BYTES
FAST = 5.0  # seconds a hostile request may take to be answered
WORKFLOWS = "/api/projects/default/workflows"
RUNS = "/api/projects/default/workflows/runs"
ECHO = {"id": "echo", "type": "tool_call", "tool": "echo", "inputs": {"value": "$input"}}


def timed(send: Any) -> httpx.Response:
    started = time.monotonic()
    response: httpx.Response = send()
    took = time.monotonic() - started
    assert took < FAST, f"answered after {took:.1f} s"
    return response


def assert_still_serving(server: DrillServer) -> None:
    """Healthy, and a brand-new project gets a workflow stored and a run completed."""
    assert server.healthy()
    pid = "p" + uuid.uuid4().hex[:8]
    assert server.http.post("/api/projects", json={"id": pid}).status_code == 201
    created = server.http.post(
        f"/api/projects/{pid}/api-keys", json={"name": "ops", "role": "editor"}
    )
    assert created.status_code == 201, created.text
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    stored = server.http.post(
        f"/api/projects/{pid}/workflows",
        headers=key,
        json={
            "id": "after",
            "steps": [ECHO, {**ECHO, "id": "again", "inputs": {"value": "$echo"}}],
        },
    )
    assert stored.status_code == 201, stored.text
    run = server.start_run("after", {"ok": True}, wait=True, project=pid, headers=key)
    assert run["status"] == "COMPLETED", run
    assert run["output"] == {"again": {"ok": True}}, run


@pytest.fixture(autouse=True)
def _healthy_after_each(server: DrillServer) -> Iterator[None]:
    yield
    assert server.healthy()
    assert server.http.get(WORKFLOWS, params={"limit": 1}).status_code == 200


@pytest.fixture(scope="module")
def echo_run(shared_server: DrillServer) -> str:
    """A finished run of workflow `echo-flow`, for URLs that need a real run id."""
    shared_server.create_workflow({"id": "echo-flow", "steps": [ECHO]})
    return str(shared_server.start_run("echo-flow", {"x": 1}, wait=True)["run_id"])


# -- raw HTTP, for what httpx would not send ---------------------------------------------


def raw_exchange(server: DrillServer, head: str, parts: Iterable[bytes]) -> tuple[int, bytes]:
    """Send a request as raw bytes (the server may answer before the body is all sent);
    returns the status code and the response body."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", server.port), timeout=FAST) as sock:
        try:
            sock.sendall(head.encode("latin-1"))
            for part in parts:
                sock.sendall(part)
        except (BrokenPipeError, ConnectionResetError):
            pass  # it answered (and closed) before taking the whole body: that is allowed
        data = b""
        try:
            while chunk := sock.recv(65536):
                data += chunk
        except (TimeoutError, ConnectionResetError):
            pass
    assert time.monotonic() - started < FAST + 1, "no answer within the time limit"
    header, _, body = data.partition(b"\r\n\r\n")
    status = int(header.split(b" ", 2)[1])
    return status, body


def chunked(payload: bytes, size: int = 64 * 1024) -> Iterator[bytes]:
    for start in range(0, len(payload), size):
        piece = payload[start : start + size]
        yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    yield b"0\r\n\r\n"


def request_head(server: DrillServer, path: str, extra: str = "") -> str:
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\n"
        f"Connection: close\r\n{extra}\r\n"
    )


def assert_raw_error(status: int, body: bytes, expected: int) -> None:
    assert status == expected, (status, body[:300])
    parsed = json.loads(body)
    assert set(parsed) == {"error", "message", "details"}, parsed


# -- size ----------------------------------------------------------------------------------

BODY_PATHS = [
    "/api/projects",
    WORKFLOWS,
    f"{WORKFLOWS}/validate",
    RUNS,
    "/api/projects/default/api-keys",
]


def oversized_json() -> bytes:
    return json.dumps({"id": "big", "description": "x" * LIMIT}).encode()


@pytest.mark.parametrize("path", BODY_PATHS)
def test_body_over_the_limit_with_content_length_is_413(server: DrillServer, path: str) -> None:
    body = assert_error_body(
        timed(
            lambda: server.http.post(
                path, content=oversized_json(), headers={"content-type": "application/json"}
            )
        ),
        413,
    )
    assert body["error"] == "payload_too_large"


@pytest.mark.parametrize("path", BODY_PATHS)
def test_chunked_body_over_the_limit_is_413(server: DrillServer, path: str) -> None:
    head = request_head(server, path, "Transfer-Encoding: chunked\r\n")
    status, body = raw_exchange(server, head, chunked(oversized_json()))
    assert_raw_error(status, body, 413)


def test_declared_length_over_the_limit_is_refused_before_the_body(server: DrillServer) -> None:
    head = request_head(server, WORKFLOWS, f"Content-Length: {LIMIT * 50}\r\n")
    status, body = raw_exchange(server, head, [b'{"id":'])
    assert_raw_error(status, body, 413)


# -- structure -----------------------------------------------------------------------------

NESTED = {
    "arrays": lambda n: b"[" * n + b"]" * n,
    "objects": lambda n: b'{"a":' * n + b"1" + b"}" * n,
}


@pytest.mark.parametrize("depth", [100, 900, 100_000])
@pytest.mark.parametrize("shape", sorted(NESTED))
def test_deeply_nested_json(server: DrillServer, shape: str, depth: int) -> None:
    nested = NESTED[shape](depth)
    as_definition = (
        b'{"id":"deep","steps":['
        + json.dumps(ECHO).encode()
        + b'],"context":{"v":'
        + nested
        + b"}}"
    )
    as_run = b'{"workflow_id":"echo-flow","execute":true,"input":{"v":' + nested + b"}}"
    for path, body in (
        (WORKFLOWS, as_definition),
        (f"{WORKFLOWS}/validate", as_definition),
        (RUNS, as_run),
        ("/api/projects", b'{"id":"x","name":' + nested + b"}"),
    ):
        response = timed(
            lambda p=path, b=body: server.http.post(
                p, content=b, headers={"content-type": "application/json"}
            )
        )
        if path.endswith("/validate") and response.status_code == 200:
            assert response.json()["valid"] is False, response.text
            continue
        assert_error_body(response, (400, 404, 413, 422))


YAML_HOSTILE = {
    "alias_bomb": "a: &a ['x','x','x','x','x','x','x','x']\n"
    + "".join(
        f"{c}: &{c} [*{p},*{p},*{p},*{p},*{p},*{p},*{p},*{p}]\n"
        for p, c in zip("abcdefgh", "bcdefghi", strict=True)
    ),
    "merge_alias": "base: &b {id: x}\nwf:\n  <<: *b\n",
    "python_tag": "id: !!python/object/apply:os.system ['echo pwned']\nsteps: []\n",
    "binary_tag": "id: b\ncontext: {x: !!binary aGVsbG8=}\nsteps: [{id: a, type: tool_call, "
    "tool: echo}]\n",
    "set_tag": "id: s\ncontext: {x: !!set {a, b}}\nsteps: [{id: a, type: tool_call, tool: echo}]\n",
    "nan_inf": "id: n\ncontext: {x: .nan, y: -.inf}\nsteps: [{id: a, type: tool_call, "
    "tool: echo}]\n",
    "deep_flow": "[" * 50_000 + "]" * 50_000,
    "deep_block": "".join(" " * i + "a:\n" for i in range(1000)) + " " * 1000 + "b: 1\n",
    "not_a_mapping": "- just\n- a\n- list\n",
    "tabs_and_junk": "id: x\n\tsteps: [\x00\x01\x02]\n",
}


@pytest.mark.parametrize("case", sorted(YAML_HOSTILE))
def test_hostile_yaml(server: DrillServer, case: str) -> None:
    response = timed(
        lambda: server.http.post(
            WORKFLOWS,
            content=YAML_HOSTILE[case].encode(),
            headers={"content-type": "application/yaml"},
        )
    )
    body = assert_error_body(response, 422)
    assert body["error"] == "invalid_workflow", body
    assert body["details"]["issues"], body


def test_ten_thousand_node_graph_is_refused_within_seconds(server: DrillServer) -> None:
    nodes = [{"id": f"n{i}", "type": "tool_call", "tool": "echo"} for i in range(10_000)]
    for edges in (
        [{"from": f"n{i}", "to": f"n{i + 1}"} for i in range(9_999)],
        [{"from": "n0", "to": f"n{i}"} for i in range(1, 10_000)],
    ):
        definition = {"id": "huge", "nodes": nodes, "edges": edges}
        body = assert_error_body(
            timed(lambda d=definition: server.http.post(WORKFLOWS, json=d)), (413, 422)
        )
        assert "at most" in body["message"] or body["error"] == "payload_too_large", body
    many_edges = {
        "id": "edgy",
        "nodes": nodes[:200],
        "edges": [
            {"from": f"n{i}", "to": f"n{j}"}
            for i in range(200)
            for j in range(i + 1, min(i + 40, 200))
        ],
    }
    assert_error_body(timed(lambda: server.http.post(WORKFLOWS, json=many_edges)), 422)


def test_a_thousand_node_chain_is_accepted_and_runs(server: DrillServer) -> None:
    nodes = [
        {
            "id": f"n{i}",
            "type": "tool_call",
            "tool": "echo",
            "inputs": {"value": f"$n{i - 1}" if i else "$input.v"},
        }
        for i in range(1000)
    ]
    definition = chain("long-chain", nodes)
    response = timed(lambda: server.http.post(WORKFLOWS, json=definition))
    assert response.status_code == 201, response.text
    graph = timed(lambda: server.http.get(f"{WORKFLOWS}/long-chain/graph"))
    assert graph.status_code == 200 and len(graph.json()["levels"]) == 1000


# -- ids -----------------------------------------------------------------------------------

TRICKY_IDS = [
    "",
    "a\x00b",
    "abc\n",
    "\nabc",
    "a\rb",
    "a\tb",
    "a b",
    "a\u202eb",
    "\u202eabc",
    "abc\u200b",
    "\uff41\uff42\uff43",
    "İstanbul",
    "ǆ",
    "a" * 65,
    "../etc",
    "a/b",
    "a\\b",
    "%00",
    "a;drop table runs",
    "a\ud800b",
    "a\x7f",
    "😀",
    "A" * 10_000,
]


def post_json(server: DrillServer, path: str, value: Any) -> httpx.Response:
    """POST `value` as ASCII JSON (escapes even lone surrogates, which httpx cannot encode)."""
    return timed(
        lambda: server.http.post(
            path, content=json.dumps(value), headers={"content-type": "application/json"}
        )
    )


@pytest.mark.parametrize("bad", TRICKY_IDS, ids=range(len(TRICKY_IDS)))
def test_tricky_ids_in_bodies(server: DrillServer, bad: str) -> None:
    assert_error_body(post_json(server, "/api/projects", {"id": bad}), 422)
    assert_error_body(post_json(server, WORKFLOWS, {"id": bad, "steps": [ECHO]}), 422)
    node = post_json(server, WORKFLOWS, {"id": "node-ids", "steps": [{**ECHO, "id": bad}]})
    assert_error_body(node, 422)
    edge = post_json(
        server,
        WORKFLOWS,
        {"id": "edge-ids", "nodes": [ECHO], "edges": [{"from": "echo", "to": bad}]},
    )
    assert_error_body(edge, 422)
    assert_error_body(post_json(server, RUNS, {"workflow_id": bad}), (404, 422))


URL_PATTERNS = [
    "/api/projects/{x}/workflows",
    "/api/projects/{x}/api-keys",
    WORKFLOWS + "/{x}",
    WORKFLOWS + "/{x}/graph",
    WORKFLOWS + "/{x}/versions",
    RUNS + "/{x}",
    RUNS + "/{x}/status",
    RUNS + "/{x}/events",
    RUNS + "/{x}/gates",
    RUNS + "/{x}/checkpoints",
]


@pytest.mark.parametrize("bad", TRICKY_IDS[1:], ids=range(1, len(TRICKY_IDS)))
def test_tricky_ids_in_urls(server: DrillServer, bad: str, echo_run: str) -> None:
    encoded = quote(bad.encode("utf-8", "surrogatepass"), safe="")
    for pattern in URL_PATTERNS:
        url = pattern.format(x=encoded)
        response = timed(lambda u=url: server.http.get(u))
        assert_error_body(response, (404, 422))
    for action in ("cancel", "pause", "resume", "retry", "execute"):
        response = timed(lambda a=action: server.http.post(f"{RUNS}/{encoded}/{a}"))
        assert_error_body(response, (404, 422))
    gate = timed(
        lambda: server.http.post(
            f"{RUNS}/{echo_run}/gates/{encoded}/decision", json={"decision": "approve"}
        )
    )
    assert_error_body(gate, (404, 409, 422))


def test_control_bytes_in_the_request_line_are_refused(server: DrillServer) -> None:
    # What no HTTP client sends: the HTTP parser refuses it (a plain-text 400 from uvicorn,
    # the app never sees it); the drill is that the server shrugs it off.
    for raw in (
        "GET /api/projects/a\x01b HTTP/1.1",
        "GET /api/projects/\x00 HTTP/1.1",
        "GET /\xff\xfe HTTP/1.1",
    ):
        head = f"{raw}\r\nHost: x\r\nConnection: close\r\n\r\n"
        status, _ = raw_exchange(server, head, [])
        assert status == 400


def test_authorization_header_tricks(server: DrillServer) -> None:
    for value in (
        "Bearer",
        "Bearer ",
        "Basic abc",
        f"Bearer {TOKEN}\x7f",
        "Bearer " + "x" * 8000,
        f"bearer  {TOKEN[:-1]}",
    ):
        head = (
            f"GET /api/projects HTTP/1.1\r\nHost: x\r\nAuthorization: {value}\r\n"
            "Connection: close\r\n\r\n"
        )
        status, body = raw_exchange(server, head, [])
        assert_raw_error(status, body, 401)


# -- strings and numbers -------------------------------------------------------------------


def test_one_megabyte_binding_strings(server: DrillServer) -> None:
    over = {"id": "mb", "steps": [{**ECHO, "inputs": {"value": "$input." + "a" * LIMIT}}]}
    assert_error_body(timed(lambda: server.http.post(WORKFLOWS, json=over)), 413)
    near = 980_000  # under the definition size limit (1 MB), so the content is what counts
    shapes = {
        "open_braces": "{{" * (near // 2),
        "long_path": "$input" + ".b" * (near // 2 - 4),
        "many_unknown": "{{ $nope }}" * (near // 11),
        "dollars": "$" * near,
        "bad_template": "{{ x }}" * (near // 7),
    }
    for name, text in shapes.items():
        definition = {
            "id": f"s-{name}".replace("_", "-"),
            "steps": [{**ECHO, "inputs": {"value": text}}],
        }
        response = timed(lambda d=definition: server.http.post(WORKFLOWS, json=d))
        if response.status_code != 201:
            assert_error_body(response, 422)
    templates = {
        "id": "many-templates",
        "steps": [{**ECHO, "inputs": {"value": "{{ $input.w }}," * 60_000}}],
    }
    assert timed(lambda: server.http.post(WORKFLOWS, json=templates)).status_code == 201
    run = timed(lambda: server.start_run("many-templates", {"w": "w"}, wait=True))
    assert run["status"] == "COMPLETED", run
    assert run["output"]["echo"] == "w," * 60_000


def test_reserved_workflow_ids(server: DrillServer) -> None:
    for reserved in ("runs", "validate"):
        body = assert_error_body(
            timed(lambda r=reserved: server.http.post(WORKFLOWS, json={"id": r, "steps": [ECHO]})),
            422,
        )
        assert body["details"]["issues"][0]["path"] == "id", body


def test_huge_numbers(server: DrillServer, echo_run: str) -> None:
    huge = "9" * 40
    for path, params in (
        (RUNS, {"offset": huge}),
        (RUNS, {"limit": huge}),
        (WORKFLOWS, {"offset": huge}),
        (f"{WORKFLOWS}/echo-flow", {"version": huge}),
        (f"{WORKFLOWS}/echo-flow/graph", {"version": huge}),
        (f"{RUNS}/{echo_run}/events", {"last_event_id": huge}),
        (RUNS, {"offset": "-1"}),
        (RUNS, {"limit": "1e3"}),
    ):
        assert_error_body(timed(lambda p=path, q=params: server.http.get(p, params=q)), 422)
    events = timed(
        lambda: server.http.get(f"{RUNS}/{echo_run}/events", headers={"Last-Event-ID": huge})
    )
    assert_error_body(events, 422)
    for body in (
        {"workflow_id": "echo-flow", "version": 10**40},
        {"workflow_id": "echo-flow", "input": {"v": 2**64}},
        {"workflow_id": "echo-flow", "input": {"v": -(2**63) - 1}},
        {"workflow_id": "echo-flow", "timeout_seconds": 1e308, "wait": True},
    ):
        assert_error_body(timed(lambda b=body: server.http.post(RUNS, json=b)), 422)
    in_definition = {"id": "big-int", "context": {"v": 10**30}, "steps": [ECHO]}
    assert_error_body(timed(lambda: server.http.post(WORKFLOWS, json=in_definition)), 422)
    fine = server.start_run("echo-flow", {"v": 2**63 - 1, "w": -(2**63)}, wait=True)
    assert fine["status"] == "COMPLETED" and fine["output"]["echo"]["v"] == 2**63 - 1, fine


NON_FINITE = [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e999"]


@pytest.mark.parametrize("literal", NON_FINITE, ids=[n.decode() for n in NON_FINITE])
def test_nan_and_infinity_in_json(server: DrillServer, literal: bytes, echo_run: str) -> None:
    pending = server.http.post(RUNS, json={"workflow_id": "echo-flow"}).json()["run_id"]
    bodies = [
        (RUNS, b'{"workflow_id":"echo-flow","execute":true,"wait":true,"input":{"v":%s}}'),
        (f"{RUNS}/{pending}/execute", b'{"input_data":{"v":[1,%s]}}'),
        (f"{RUNS}/{echo_run}/gates/echo/decision", b'{"decision":"approve","data":{"v":%s}}'),
        (
            WORKFLOWS,
            b'{"id":"nan","context":{"v":%s},"steps":[{"id":"a","type":"tool_call",'
            b'"tool":"echo"}]}',
        ),
        (
            f"{WORKFLOWS}/validate",
            b'{"id":"nan","steps":[{"id":"a","type":"tool_call","tool":"echo","inputs":{"v":%s}}]}',
        ),
    ]
    for path, template in bodies:
        response = timed(
            lambda p=path, b=template % literal: server.http.post(
                p, content=b, headers={"content-type": "application/json"}
            )
        )
        if path.endswith("/validate"):
            assert response.status_code == 200 and not response.json()["valid"], response.text
            continue
        assert_error_body(response, 422)
    assert server.run(pending)["status"] == "PENDING"


CONTENT_TYPES = [
    ("text/plain", b'{"workflow_id":"echo-flow"}'),
    ("application/x-www-form-urlencoded", b"workflow_id=echo-flow"),
    (
        "multipart/form-data; boundary=xyz",
        b'--xyz\r\nContent-Disposition: form-data; name="workflow_id"\r\n\r\n'
        b"echo-flow\r\n--xyz--\r\n",
    ),
    ("application/xml", b"<run><workflow_id>echo-flow</workflow_id></run>"),
    ("application/json", b'{"workflow_id":"echo-flow"'),
    ("application/json", b"\xff\xfe{\x00}\x00"),
    ("application/json", b'{"workflow_id":"echo\xff-flow"}'),
    ("application/json", "\ufeff{}".encode("utf-16")),
    ("application/json", b""),
    ("application/json", b"null"),
    ("application/json", b'["workflow_id"]'),
    ("application/json; charset=latin-1", b'{"workflow_id":"\xe9"}'),
    ("image/png", b"\x89PNG\r\n\x1a\n" + bytes(range(256))),
]


@pytest.mark.parametrize(("content_type", "payload"), CONTENT_TYPES, ids=range(len(CONTENT_TYPES)))
def test_wrong_content_types(server: DrillServer, content_type: str, payload: bytes) -> None:
    headers = {"content-type": content_type}
    for path in (RUNS, WORKFLOWS, f"{WORKFLOWS}/validate", "/api/projects"):
        response = timed(lambda p=path: server.http.post(p, content=payload, headers=headers))
        if path.endswith("/validate") and response.status_code == 200:
            assert response.json()["valid"] is False, response.text
            continue
        assert_error_body(response, (400, 404, 415, 422))


def test_zz_the_server_still_serves_other_projects(server: DrillServer) -> None:
    """Last in the module: after all of the above, a new project works end to end."""
    assert_still_serving(server)
    log = server.log()
    assert "Traceback" not in log, log[-3000:]
