"""Workflow routes: create (JSON/YAML), validation errors, versions, delete, validate, graph."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import yaml
from fastapi import FastAPI
from server_testkit import ProjectKeys, create_run, create_workflow, simple_definition

from server.crud.runs import load_run
from server.crud.workflows import get_workflow

YAML_FLOW = """
id: yflow
name: From YAML
steps:
  - {id: first, type: tool_call, tool: echo, inputs: {text: hello}}
  - {id: second, type: tool_call, tool: notify, inputs: {text: "$first"}}
"""


async def test_create_returns_version_1(client: httpx.AsyncClient, project: ProjectKeys) -> None:
    body = await create_workflow(client, project)
    assert body["id"] == "flow" and body["version"] == 1
    assert body["name"] == "Simple flow" and body["description"] == "a then b and c"
    assert body["definition"] == simple_definition()
    assert body["created_at"] == body["updated_at"]


@pytest.mark.parametrize(
    "content_type", ["application/yaml", "text/yaml", "application/x-yaml", None]
)
async def test_create_from_yaml(
    client: httpx.AsyncClient, project: ProjectKeys, content_type: str | None
) -> None:
    headers = project.headers("editor")
    if content_type:
        headers["Content-Type"] = content_type
    response = await client.post(project.url("/workflows"), content=YAML_FLOW, headers=headers)
    assert response.status_code == 201, response.text
    assert response.json()["definition"] == yaml.safe_load(YAML_FLOW)


async def test_taken_id_is_409(client: httpx.AsyncClient, project: ProjectKeys) -> None:
    await create_workflow(client, project)
    response = await client.post(
        project.url("/workflows"), json=simple_definition(), headers=project.headers("editor")
    )
    assert response.status_code == 409
    assert response.json()["error"] == "conflict"


async def test_same_id_in_two_projects_is_fine(
    client: httpx.AsyncClient, project: ProjectKeys, other_project: ProjectKeys
) -> None:
    await create_workflow(client, project)
    await create_workflow(client, other_project)


async def test_invalid_definition_lists_every_issue(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    definition = simple_definition()
    definition["nodes"][1]["tool"] = "no_such_tool"
    definition["edges"].append({"from": "c", "to": "ghost"})
    response = await client.post(
        project.url("/workflows"), json=definition, headers=project.headers("editor")
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_workflow" and body["message"]
    issues = body["details"]["issues"]
    assert {i["code"] for i in issues} >= {"unknown_tool", "unknown_node"}
    assert all(set(i) == {"path", "code", "message"} for i in issues)
    assert "nodes[1].tool" in {i["path"] for i in issues}
    listed = await client.get(project.url("/workflows"), headers=project.headers("viewer"))
    assert listed.json()["total"] == 0


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        ("{not json", "application/json"),
        ("a: [unclosed", "application/yaml"),
        ("a: &x [1]\nb: *x\n", "application/yaml"),
        ("", "application/json"),
        ("\xff\xfe", "application/yaml"),
    ],
)
async def test_unreadable_definition_is_422(
    client: httpx.AsyncClient, project: ProjectKeys, content: str, content_type: str
) -> None:
    headers = {**project.headers("editor"), "Content-Type": content_type}
    for path in ("/workflows", "/workflows/validate"):
        response = await client.post(
            project.url(path), content=content.encode("latin-1"), headers=headers
        )
        assert response.status_code == 422, response.text
        body = response.json()
        assert body["error"] == "invalid_workflow" and body["message"]
        assert body["details"]["issues"][0]["message"] == body["message"]


async def test_definition_that_is_not_a_mapping(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    stored = await client.post(
        project.url("/workflows"), json=[1, 2], headers=project.headers("editor")
    )
    assert stored.status_code == 422
    assert stored.json()["details"]["issues"][0]["path"] == ""
    checked = await client.post(
        project.url("/workflows/validate"), json=[1, 2], headers=project.headers("editor")
    )
    assert checked.status_code == 200 and checked.json()["valid"] is False


@pytest.mark.parametrize("reserved", ["runs", "validate"])
async def test_reserved_ids_are_422(
    client: httpx.AsyncClient, project: ProjectKeys, reserved: str
) -> None:
    response = await client.post(
        project.url("/workflows"),
        json=simple_definition(reserved),
        headers=project.headers("editor"),
    )
    assert response.status_code == 422
    assert any(i["path"] == "id" for i in response.json()["details"]["issues"])


async def test_list_pages_with_total(client: httpx.AsyncClient, project: ProjectKeys) -> None:
    for n in range(5):
        await create_workflow(client, project, simple_definition(f"wf{n}"))
    url = project.url("/workflows")
    page = await client.get(
        url, params={"limit": 2, "offset": 1}, headers=project.headers("viewer")
    )
    body = page.json()
    assert body["total"] == 5 and len(body["items"]) == 2
    everything = await client.get(url, headers=project.headers("viewer"))
    ids = [item["id"] for item in everything.json()["items"]]
    assert ids == ["wf4", "wf3", "wf2", "wf1", "wf0"]  # most recently updated first
    assert [item["id"] for item in body["items"]] == ids[1:3]
    bad = await client.get(url, params={"limit": 0}, headers=project.headers("viewer"))
    assert bad.status_code == 422


async def test_put_adds_a_version_and_old_ones_never_change(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    first = await create_workflow(client, project)
    changed = simple_definition(name="Second")
    response = await client.put(
        project.url("/workflows/flow"), json=changed, headers=project.headers("editor")
    )
    assert response.status_code == 200
    second = response.json()
    assert second["version"] == 2 and second["name"] == "Second"
    assert second["created_at"] == first["created_at"]
    latest = await client.get(project.url("/workflows/flow"), headers=project.headers("viewer"))
    assert latest.json() == second
    v1 = await client.get(
        project.url("/workflows/flow"), params={"version": 1}, headers=project.headers("viewer")
    )
    assert v1.json() == first
    versions = await client.get(
        project.url("/workflows/flow/versions"), headers=project.headers("viewer")
    )
    assert [v["version"] for v in versions.json()["items"]] == [2, 1]
    assert all(set(v) == {"version", "created_at"} for v in versions.json()["items"])


async def test_unknown_version_is_404(client: httpx.AsyncClient, project: ProjectKeys) -> None:
    await create_workflow(client, project)
    url = project.url("/workflows/flow")
    response = await client.get(url, params={"version": 7}, headers=project.headers("viewer"))
    assert response.status_code == 404
    assert (
        await client.get(url, params={"version": 0}, headers=project.headers("viewer"))
    ).status_code == 422


async def test_put_takes_missing_id_from_url(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    await create_workflow(client, project)
    definition = simple_definition()
    del definition["id"]
    response = await client.put(
        project.url("/workflows/flow"), json=definition, headers=project.headers("editor")
    )
    assert response.status_code == 200
    assert response.json()["definition"]["id"] == "flow"


async def test_put_with_other_id_is_422(client: httpx.AsyncClient, project: ProjectKeys) -> None:
    await create_workflow(client, project)
    response = await client.put(
        project.url("/workflows/flow"),
        json=simple_definition("other"),
        headers=project.headers("editor"),
    )
    assert response.status_code == 422
    issues = response.json()["details"]["issues"]
    assert [i["path"] for i in issues] == ["id"]


async def test_put_unknown_or_invalid(client: httpx.AsyncClient, project: ProjectKeys) -> None:
    missing = await client.put(
        project.url("/workflows/ghost"),
        json=simple_definition("ghost"),
        headers=project.headers("editor"),
    )
    assert missing.status_code == 404
    await create_workflow(client, project)
    broken = simple_definition()
    broken["nodes"][0]["type"] = "teleport"
    invalid = await client.put(
        project.url("/workflows/flow"), json=broken, headers=project.headers("editor")
    )
    assert invalid.status_code == 422
    latest = await client.get(project.url("/workflows/flow"), headers=project.headers("viewer"))
    assert latest.json()["version"] == 1


async def test_delete_hides_workflow_but_runs_keep_their_version(
    client: httpx.AsyncClient, app: FastAPI, project: ProjectKeys
) -> None:
    await create_workflow(client, project)
    async with app.state.db.sessions() as session:
        run = await create_run(
            session, project_id=project.pid, workflow_id="flow", workflow_version=1
        )
        await session.commit()
    url = project.url("/workflows/flow")
    deleted = await client.delete(url, headers=project.headers("editor"))
    assert deleted.status_code == 204
    for path in ("", "/versions", "/graph"):
        gone = await client.get(url + path, headers=project.headers("viewer"))
        assert gone.status_code == 404, path
    assert (await client.delete(url, headers=project.headers("editor"))).status_code == 404
    listed = await client.get(project.url("/workflows"), headers=project.headers("viewer"))
    assert listed.json() == {"items": [], "total": 0}
    async with app.state.db.sessions() as session:
        kept = await load_run(session, run.run_id)
        assert kept is not None and kept.workflow_version == 1
        _, version = await get_workflow(
            session, project.pid, "flow", kept.workflow_version, include_deleted=True
        )
        assert version.definition == simple_definition()


async def test_recreating_a_deleted_id_continues_its_versions(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    await create_workflow(client, project)
    await client.put(
        project.url("/workflows/flow"), json=simple_definition(), headers=project.headers("editor")
    )
    await client.delete(project.url("/workflows/flow"), headers=project.headers("editor"))
    again = await create_workflow(client, project, simple_definition(name="Reborn"))
    assert again["version"] == 3 and again["name"] == "Reborn"
    versions = await client.get(
        project.url("/workflows/flow/versions"), headers=project.headers("viewer")
    )
    assert [v["version"] for v in versions.json()["items"]] == [3, 2, 1]


async def test_validate_returns_levels(client: httpx.AsyncClient, project: ProjectKeys) -> None:
    response = await client.post(
        project.url("/workflows/validate"),
        json=simple_definition(),
        headers=project.headers("viewer"),
    )
    assert response.status_code == 200
    assert response.json() == {"valid": True, "issues": [], "levels": [["a"], ["b", "c"]]}
    listed = await client.get(project.url("/workflows"), headers=project.headers("viewer"))
    assert listed.json()["total"] == 0  # validating stores nothing


async def test_validate_reports_issues_with_200(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    definition = simple_definition()
    definition["edges"].append({"from": "b", "to": "a"})
    response = await client.post(
        project.url("/workflows/validate"),
        content=yaml.safe_dump(definition),
        headers={**project.headers("viewer"), "Content-Type": "application/yaml"},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["valid"] is False
    assert "cycle" in {i["code"] for i in body["issues"]}


async def test_graph_view(client: httpx.AsyncClient, project: ProjectKeys) -> None:
    await create_workflow(client, project)
    chain = {"id": "flow", "steps": simple_definition()["nodes"][:2]}
    put = await client.put(
        project.url("/workflows/flow"), json=chain, headers=project.headers("editor")
    )
    assert put.status_code == 200, put.text
    url = project.url("/workflows/flow/graph")
    response = await client.get(url, headers=project.headers("viewer"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"nodes", "edges", "levels", "mermaid"}
    assert [(e["from"], e["to"]) for e in body["edges"]] == [("a", "b")]
    assert body["levels"] == [["a"], ["b"]] and body["mermaid"].startswith("flowchart")
    first = await client.get(url, params={"version": 1}, headers=project.headers("viewer"))
    assert first.json()["levels"] == [["a"], ["b", "c"]]
    assert len(first.json()["edges"]) == 2


async def test_oversized_definition_is_413(
    client: httpx.AsyncClient, project: ProjectKeys, app: FastAPI
) -> None:
    limit = app.state.settings.max_body_bytes
    definition: dict[str, Any] = {**simple_definition(), "description": "x" * limit}
    response = await client.post(
        project.url("/workflows"),
        content=json.dumps(definition),
        headers={**project.headers("editor"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"] == "payload_too_large"


async def test_openapi_documents_definition_bodies(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    post = spec["paths"]["/api/projects/{pid}/workflows"]["post"]
    content = post["requestBody"]["content"]
    assert {"application/json", "application/yaml"} <= set(content)
    schema = content["application/yaml"]["schema"]
    assert "nodes" in schema["properties"] and "$ref" not in json.dumps(schema)
    assert {"401", "403", "404", "409", "422"} <= set(post["responses"])
    assert spec["paths"]["/api/projects/{pid}/workflows/{wid}"]["put"]["requestBody"]
