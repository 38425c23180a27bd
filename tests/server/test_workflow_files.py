"""Workflow files loaded into `default` at start: examples, a workflows directory, versions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from server_testkit import bearer

from server.app import create_app
from server.loader import EXAMPLES_DIR
from server.settings import Settings

DEFAULT = "/api/projects/default/workflows"


@asynccontextmanager
async def serving(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app for `settings` with its lifespan, and a client holding the admin token."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=bearer(app.state.admin_token)
        ) as client:
            yield client


def flow(workflow_id: str, text: str) -> dict[str, object]:
    return {
        "id": workflow_id,
        "steps": [{"id": "say", "type": "tool_call", "tool": "notify", "inputs": {"text": text}}],
    }


async def versions(client: httpx.AsyncClient, workflow_id: str) -> list[int]:
    response = await client.get(f"{DEFAULT}/{workflow_id}/versions")
    assert response.status_code == 200, response.text
    return [item["version"] for item in response.json()["items"]]


async def test_examples_load_by_default_and_run(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    async with serving(settings) as client:
        listed = (await client.get(DEFAULT)).json()["items"]
        expected = {p.stem for p in EXAMPLES_DIR.glob("*.yaml")}
        assert expected <= {item["id"] for item in listed}
        run = await client.post(
            f"{DEFAULT}/runs",
            json={"workflow_id": "parallel_fanout", "execute": True, "wait": True},
        )
        assert run.json()["status"] == "COMPLETED", run.text


async def test_workflows_dir_new_changed_unchanged_and_invalid_files(tmp_path: Path) -> None:
    folder = tmp_path / "flows"
    folder.mkdir()
    (folder / "greet.json").write_text(json.dumps(flow("greet", "hello")))
    (folder / "other.yaml").write_text(
        "id: other\nsteps:\n  - {id: s, type: tool_call, tool: echo}\n"
    )
    (folder / "broken.yaml").write_text("id: broken\nnodes: [{id: a, type: nope}]\n")
    (folder / "notes.txt").write_text("not a workflow")
    settings = Settings(data_dir=tmp_path / "data", load_examples=False, workflows_dir=folder)

    async with serving(settings) as client:
        ids = {item["id"] for item in (await client.get(DEFAULT)).json()["items"]}
        assert ids == {"greet", "other"}  # the invalid file is skipped, not fatal
        assert await versions(client, "greet") == [1]

    (folder / "greet.json").write_text(json.dumps(flow("greet", "hello again")))
    async with serving(settings) as client:  # a restart: changed file -> new version
        assert await versions(client, "greet") == [2, 1]
        assert await versions(client, "other") == [1]  # unchanged: no new version
        latest = (await client.get(f"{DEFAULT}/greet")).json()
        assert latest["definition"]["steps"][0]["inputs"]["text"] == "hello again"
        first = (await client.get(f"{DEFAULT}/greet", params={"version": 1})).json()
        assert first["definition"]["steps"][0]["inputs"]["text"] == "hello"
