"""The raw-LangGraph baseline for server throughput, and seeding a big history for scale."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict

import aiosqlite
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.graph import END, START, StateGraph

from checkpoints import DURABILITY, open_checkpointer, sqlite_saver


class Raw3(TypedDict, total=False):
    s0: Any
    s1: Any
    s2: Any


def _raw_three(checkpointer: Any) -> Any:
    builder: StateGraph[Any] = StateGraph(Raw3)
    for i in range(3):

        async def node(_: dict[str, Any], i: int = i) -> dict[str, Any]:
            return {f"s{i}": i}

        builder.add_node(f"s{i}", node)
    builder.add_edge(START, "s0")
    builder.add_edge("s0", "s1")
    builder.add_edge("s1", "s2")
    builder.add_edge("s2", END)
    return builder.compile(checkpointer=checkpointer)


@asynccontextmanager
async def stock_saver(path: Path) -> AsyncIterator[AsyncSqliteSaver]:
    """LangGraph's AsyncSqliteSaver on a stock aiosqlite connection (its worker thread),
    with the same PRAGMAs: what a hand-written LangGraph program gets out of the box."""
    async with aiosqlite.connect(path) as conn:
        yield await sqlite_saver(conn)


async def raw_throughput(folder: Path, total: int, concurrency: int, stock: bool = False) -> float:
    """Runs/s of the same 3-node chain run in-process on a SQLite saver: Graphyard's
    (`open_checkpointer`, calls on the event loop's thread), or with `stock` LangGraph's own."""
    name = "raw-stock.sqlite" if stock else "raw.sqlite"
    opened = stock_saver(folder / name) if stock else open_checkpointer(str(folder / name))
    async with opened as saver:
        graph = _raw_three(saver)
        sem = asyncio.Semaphore(concurrency)

        async def one() -> None:
            async with sem:
                config = {"configurable": {"thread_id": str(uuid.uuid4())}}
                await graph.ainvoke({}, config, durability=DURABILITY)

        await asyncio.gather(*(one() for _ in range(min(50, total))))  # warm up
        start = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(total)))
        return total / (time.perf_counter() - start)


def seed_history(db_path: Path, runs: int, events_per_run: int, workflow: str = "three") -> None:
    """Add finished runs with events straight into the server's SQLite database."""
    db = sqlite3.connect(db_path, timeout=60)
    db.execute("PRAGMA journal_mode=WAL")
    base = datetime(2025, 1, 1, tzinfo=UTC)
    usage = json.dumps({"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0})
    batch = 5000
    for first in range(0, runs, batch):
        run_rows, event_rows = [], []
        for i in range(first, min(first + batch, runs)):
            rid = str(uuid.uuid4())
            ts = (base + timedelta(seconds=i)).strftime("%Y-%m-%d %H:%M:%S.%f")
            run_rows.append(
                (
                    rid,
                    "default",
                    workflow,
                    1,
                    "COMPLETED",
                    "{}",
                    "{}",
                    None,
                    usage,
                    1.0,
                    None,
                    0,
                    None,
                    events_per_run,
                    ts,
                    ts,
                    ts,
                    None,
                    None,
                )
            )
            event_rows += [
                (rid, seq, "node.completed", ts, '{"node_id": "s0", "output": 0}')
                for seq in range(1, events_per_run + 1)
            ]
        db.executemany(f"INSERT INTO runs VALUES ({','.join('?' * 19)})", run_rows)
        db.executemany("INSERT INTO run_events VALUES (?,?,?,?,?)", event_rows)
        db.commit()
    db.close()
