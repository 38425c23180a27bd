"""Admin token file, first-start bootstrap key, and every way a request gets 401."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from server_testkit import Headers, ProjectKeys, bearer

from server.app import create_app
from server.settings import Settings


async def _start(settings: Settings) -> FastAPI:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        pass
    return app


async def test_admin_token_file_is_private_and_reused(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="graphyard")
    first = await _start(settings)
    path = settings.data_dir / "admin_token"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first.state.admin_token
    assert first.state.admin_token in caplog.text  # printed once, on generation
    caplog.clear()
    second = await _start(settings)
    assert second.state.admin_token == first.state.admin_token
    assert first.state.admin_token not in caplog.text


async def test_admin_token_from_settings_writes_no_file(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d", admin_token="s3cret-admin")
    app = await _start(settings)
    assert app.state.admin_token == "s3cret-admin"
    assert not (tmp_path / "d" / "admin_token").exists()


async def test_admin_token_from_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GRAPHYARD_ADMIN_TOKEN", "from-env")
    monkeypatch.setenv("GRAPHYARD_DATA_DIR", str(tmp_path / "env"))
    app = await _start(Settings())
    assert app.state.admin_token == "from-env"


async def test_bootstrap_key_works_and_is_printed_once(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="graphyard")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        key = app.state.bootstrap_key
        assert key.startswith("gy_") and key in caplog.text
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
            listed = await client.get("/api/projects", headers=bearer(key))
            assert [p["id"] for p in listed.json()["items"]] == ["default"]
            made = await client.post(
                "/api/projects/default/api-keys",
                json={"name": "ci", "role": "viewer"},
                headers=bearer(key),
            )
            assert made.status_code == 201
    caplog.clear()
    again = await _start(settings)
    assert again.state.bootstrap_key is None
    assert key not in caplog.text


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": ""},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer wrong"},
        {"Authorization": "Bearer gy_"},
        {"Authorization": "Bearer gy_000000000000_notthesecret"},
    ],
)
async def test_missing_or_unknown_token_is_401(client: httpx.AsyncClient, headers: Headers) -> None:
    for method, url in [("GET", "/api/projects"), ("GET", "/api/projects/default/workflows")]:
        response = await client.request(method, url, headers=headers)
        assert response.status_code == 401
        body = response.json()
        assert body["error"] == "unauthorized" and body["message"]
        assert response.headers["www-authenticate"] == "Bearer"


async def test_tampered_secret_of_known_key_is_401(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    token = project.keys["admin"]
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    response = await client.get(project.url("/workflows"), headers=bearer(tampered))
    assert response.status_code == 401


async def test_lowercase_bearer_scheme_is_accepted(
    client: httpx.AsyncClient, project: ProjectKeys
) -> None:
    headers = {"Authorization": f"bearer {project.keys['viewer']}"}
    assert (await client.get(project.url("/workflows"), headers=headers)).status_code == 200
