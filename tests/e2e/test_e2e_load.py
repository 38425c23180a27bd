"""100 runs created and started at once against one server on SQLite: every run completes
and the server log shows no lock errors and no tracebacks."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest
from e2e_kit import TOKEN, MakeServer, Server, chain, tool_node

pytestmark = pytest.mark.slow
RUNS = 100
IN_FLIGHT = 24  # requests on the wire at once


async def create_and_execute(server: Server, workflow_id: str, tag: str) -> list[str]:
    gate = asyncio.Semaphore(IN_FLIGHT)
    limits = httpx.Limits(max_connections=IN_FLIGHT)
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": f"Bearer {TOKEN}"}, limits=limits,
        timeout=60,
    ) as client:

        async def one(i: int) -> str:
            async with gate:
                response = await client.post(server.runs(), json={
                    "workflow_id": workflow_id, "input": {"tag": tag, "i": i}, "execute": True,
                })
            assert response.status_code == 201, response.text
            return str(response.json()["run_id"])

        return list(await asyncio.gather(*[one(i) for i in range(RUNS)]))


def test_hundred_concurrent_runs_complete(make_server: MakeServer, tag: str) -> None:
    server = make_server()
    server.start()
    workflow_id = f"load-{tag}"
    echo = {"id": "b", "type": "tool_call", "tool": "echo", "inputs": {"value": "$input.i"}}
    server.create_workflow(chain(workflow_id, [tool_node("a"), echo, tool_node("c")]))

    started = time.monotonic()
    run_ids = asyncio.run(create_and_execute(server, workflow_id, tag))
    deadline = time.monotonic() + 90
    while True:
        listed = server.http.get(server.runs(), params={"workflow_id": workflow_id, "limit": 500})
        statuses = Counter(r["status"] for r in listed.json()["items"])
        if statuses["COMPLETED"] == RUNS or time.monotonic() > deadline:
            break
        if statuses["FAILED"] or statuses["CANCELLED"]:
            break
        time.sleep(0.25)
    took = time.monotonic() - started
    print(f"\n{RUNS} runs completed in {took:.1f} s ({RUNS / took:.1f} runs/s)")

    assert statuses == {"COMPLETED": RUNS}, statuses
    assert len(set(run_ids)) == RUNS
    effects = server.effects(tag)
    assert effects.count("a") == RUNS and effects.count("c") == RUNS
    outputs = sorted(server.run(r)["output"]["c"]["name"] for r in run_ids[:5])
    assert outputs == ["c"] * 5
    log = server.log()
    assert "database is locked" not in log
    assert "Traceback" not in log
    assert " 500 " not in log
