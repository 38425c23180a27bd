"""Server figures over HTTP against a real `graphyard serve` process (see benchmarks/run.py)."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from benchmarks.serverproc import TOKEN, ServerProcess

PROJECT = "/api/projects/default"
THREE = {
    "id": "three",
    "steps": [
        {"id": f"s{i}", "type": "tool_call", "tool": "echo", "inputs": {"value": i}}
        for i in range(3)
    ],
}
GATED = {
    "id": "gated",
    "steps": [
        {"id": "before", "type": "tool_call", "tool": "echo", "inputs": {"value": 1}},
        {"id": "ok", "type": "human_gate", "prompt": "go?"},
        {"id": "after", "type": "tool_call", "tool": "echo", "inputs": {"value": 2}},
    ],
}
SLOW = {
    "id": "slow",
    "steps": [{"id": "wait", "type": "tool_call", "tool": "delay", "inputs": {"seconds": 30}}],
}


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Bench:
    """Talks to one server process; every figure is in milliseconds or runs/s."""

    def __init__(self, server: ServerProcess) -> None:
        self.server = server
        self.client = httpx.AsyncClient(
            base_url=server.base + PROJECT,
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=120,
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=200),
        )

    async def setup(self) -> None:
        for definition in (THREE, GATED, SLOW):
            response = await self.client.post("/workflows", json=definition)
            response.raise_for_status()

    async def run(self, workflow: str, wait: bool = True) -> dict[str, Any]:
        response = await self.client.post(
            "/workflows/runs",
            json={"workflow_id": workflow, "execute": True, "wait": wait, "timeout_seconds": 120},
        )
        response.raise_for_status()
        return dict(response.json())

    async def latency(self, n: int) -> list[float]:
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            run = await self.run("three")
            samples.append((time.perf_counter() - start) * 1000)
            assert run["status"] == "COMPLETED", run
        return samples

    async def throughput(self, total: int, concurrency: int) -> tuple[float, float]:
        """(runs/s, server CPU ms per run) for `total` runs with `concurrency` in flight."""
        queue: asyncio.Queue[int] = asyncio.Queue()
        for i in range(total):
            queue.put_nowait(i)

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                run = await self.run("three")
                assert run["status"] == "COMPLETED", run

        cpu = self.server.cpu_seconds()
        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - start
        return total / elapsed, (self.server.cpu_seconds() - cpu) * 1000 / total

    async def first_event(self, n: int) -> list[float]:
        samples = []
        for _ in range(n):
            response = await self.client.post("/workflows/runs", json={"workflow_id": "three"})
            rid = response.json()["run_id"]
            async with self.client.stream("GET", f"/workflows/runs/{rid}/events") as stream:
                lines = stream.aiter_lines()
                start = time.perf_counter()
                await self.client.post(f"/workflows/runs/{rid}/execute")
                async for line in lines:
                    if line.startswith("data:"):
                        samples.append((time.perf_counter() - start) * 1000)
                        break
        return samples

    async def cancel(self, n: int) -> list[float]:
        samples = []
        for _ in range(n):
            run = await self.run("slow", wait=False)
            await self._until_node_running(run["run_id"])
            start = time.perf_counter()
            response = await self.client.post(f"/workflows/runs/{run['run_id']}/cancel")
            samples.append((time.perf_counter() - start) * 1000)
            assert response.json()["status"] == "CANCELLED"
        return samples

    async def _until_node_running(self, rid: str) -> None:
        for _ in range(500):
            status = (await self.client.get(f"/workflows/runs/{rid}/status")).json()
            if status["node_states"][0]["status"] == "RUNNING":
                return
            await asyncio.sleep(0.01)

    async def gate_round_trip(self, n: int) -> list[float]:
        samples = []
        for _ in range(n):
            run = await self.run("gated")
            rid = run["run_id"]
            assert run["status"] == "WAITING", run
            last = await self._last_seq(rid)
            async with self.client.stream(
                "GET", f"/workflows/runs/{rid}/events", params={"last_event_id": last}
            ) as stream:
                start = time.perf_counter()
                await self.client.post(
                    f"/workflows/runs/{rid}/gates/ok/decision", json={"decision": "approve"}
                )
                async for line in stream.aiter_lines():
                    if line.startswith("data:") and '"COMPLETED"' in line:
                        samples.append((time.perf_counter() - start) * 1000)
                        break
        return samples

    async def _last_seq(self, rid: str) -> int:
        last = 0
        async with self.client.stream("GET", f"/workflows/runs/{rid}/events") as stream:
            async for line in stream.aiter_lines():
                if line.startswith("id:"):
                    last = int(line[3:])
                if line.startswith("data:") and json.loads(line[5:]).get("status") == "WAITING":
                    break
        return last

    async def memory(
        self, completed: int, waiting: int, concurrency: int = 16
    ) -> tuple[float, float]:
        """KiB of RSS growth per completed run, and per run left WAITING at a gate."""

        async def many(workflow: str, count: int) -> None:
            sem = asyncio.Semaphore(concurrency)

            async def one() -> None:
                async with sem:
                    await self.run(workflow)

            await asyncio.gather(*(one() for _ in range(count)))

        await many("three", min(200, completed))  # warm caches before measuring
        base = self.server.rss_kib()
        await many("three", completed)
        per_completed = (self.server.rss_kib() - base) / completed
        base = self.server.rss_kib()
        await many("gated", waiting)
        per_waiting = (self.server.rss_kib() - base) / waiting
        return per_completed, per_waiting

    async def timed(self, call: Callable[[], Awaitable[Any]], n: int) -> float:
        samples = []
        for _ in range(n):
            start = time.perf_counter()
            await call()
            samples.append((time.perf_counter() - start) * 1000)
        return statistics.median(samples)

    async def read_latencies(self, rid: str, n: int) -> dict[str, float]:
        """Median ms of a run's status, the run list, and a full replay of its events."""

        async def replay() -> None:
            async with self.client.stream("GET", f"/workflows/runs/{rid}/events") as stream:
                async for _ in stream.aiter_lines():
                    pass

        return {
            "status": await self.timed(lambda: self.client.get(f"/workflows/runs/{rid}/status"), n),
            "list": await self.timed(lambda: self.client.get("/workflows/runs?limit=50"), n),
            "replay": await self.timed(replay, n),
        }

    async def close(self) -> None:
        await self.client.aclose()
