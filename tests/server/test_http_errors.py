"""The one error shape: unknown routes, wrong methods, request validation, 413, crashes."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from server_testkit import Headers, ProjectKeys

SHAPE = {"error", "message", "details"}


async def test_unknown_route_is_404_in_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/nowhere")
    assert response.status_code == 404
    body = response.json()
    assert set(body) == SHAPE and body["error"] == "not_found"


async def test_wrong_method_is_405_in_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.patch("/healthz")
    assert response.status_code == 405
    body = response.json()
    assert set(body) == SHAPE and body["error"] == "method_not_allowed"
    assert "GET" in response.headers["allow"]


async def test_request_validation_is_422_listing_problems(
    client: httpx.AsyncClient, admin_headers: Headers
) -> None:
    response = await client.post(
        "/api/projects", json={"name": 5, "extra": True}, headers=admin_headers
    )
    assert response.status_code == 422
    body = response.json()
    assert set(body) == SHAPE and body["error"] == "invalid_request"
    locs = {problem["loc"] for problem in body["details"]["errors"]}
    assert {"body.id", "body.name"} <= locs
    assert all(set(p) == {"loc", "message", "type"} for p in body["details"]["errors"])


async def test_malformed_json_is_422(client: httpx.AsyncClient, admin_headers: Headers) -> None:
    response = await client.post(
        "/api/projects",
        content=b"{nope",
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 422
    assert response.json()["error"] == "invalid_request"


async def test_body_over_limit_by_content_length_is_413(
    client: httpx.AsyncClient, admin_headers: Headers, app: FastAPI
) -> None:
    size = app.state.settings.max_body_bytes + 1
    response = await client.post(
        "/api/projects",
        content=b"{" + b" " * (size - 2) + b"}",
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    body = response.json()
    assert set(body) == SHAPE and body["error"] == "payload_too_large"


async def _chunks(total: int, chunk: int = 64 * 1024) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        piece = min(chunk, total - sent)
        sent += piece
        yield b" " * piece


@pytest.mark.parametrize("path", ["/api/projects", "/workflows"])
async def test_streamed_body_over_limit_is_413(
    client: httpx.AsyncClient,
    project: ProjectKeys,
    admin_headers: Headers,
    app: FastAPI,
    path: str,
) -> None:
    """No Content-Length (chunked): the limit is enforced while the body is read."""
    limit = app.state.settings.max_body_bytes
    url = path if path.startswith("/api") else project.url(path)
    response = await client.post(
        url,
        content=_chunks(limit + 10),
        headers={**admin_headers, "Content-Type": "application/json"},
    )
    assert response.status_code == 413, response.text
    assert response.json()["error"] == "payload_too_large"


async def test_body_at_limit_is_read(
    client: httpx.AsyncClient, project: ProjectKeys, app: FastAPI
) -> None:
    limit = app.state.settings.max_body_bytes
    response = await client.post(
        project.url("/workflows/validate"),
        content=_chunks(limit),
        headers={**project.headers("viewer"), "Content-Type": "application/yaml"},
    )
    assert response.status_code != 413


async def test_crash_is_a_bare_500_and_logged(
    app: FastAPI, caplog: pytest.LogCaptureFixture
) -> None:
    async def explode() -> None:
        raise RuntimeError("secret internals: password=hunter2")

    app.add_api_route("/explode", explode)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        with caplog.at_level(logging.ERROR, logger="graphyard"):
            response = await client.get("/explode")
    assert response.status_code == 500
    assert response.json() == {
        "error": "internal_error",
        "message": "internal server error",
        "details": {},
    }
    assert "hunter2" not in response.text
    assert "hunter2" in caplog.text
