"""LangGraph checkpointer setup: SQLite by default, Postgres for several processes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiosqlite
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver
from langgraph.types import Durability

from checkpoints import inline_sqlite

# Runs write through `durability="sync"`: each superstep's checkpoint is committed before
# the next step starts, so a SIGKILL loses at most the step in flight (measured in DESIGN.md).
DURABILITY: Durability = "sync"

# Why each PRAGMA:
# - journal_mode=WAL: readers (status, history) never block the one writer.
# - synchronous=NORMAL: in WAL mode a commit survives a crash of the process (what kill -9
#   does); only a power cut or OS crash may lose the last commits. It avoids one fsync per
#   commit, which is what limits checkpoint throughput (about 1.5x more runs/s).
# - busy_timeout: a second connection (the CLI, a second server) waits instead of failing.
_SQLITE_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA busy_timeout=10000",
)


def sqlite_path(url: str) -> str:
    """A file path from `sqlite:///path`, `sqlite+aiosqlite:///path` or a bare path."""
    for prefix in ("sqlite+aiosqlite:///", "sqlite:///"):
        if url.startswith(prefix):
            return url[len(prefix) :]
    return url


def is_postgres(url: str) -> bool:
    return url.startswith(("postgres://", "postgresql://", "postgresql+"))


@asynccontextmanager
async def open_checkpointer(url: str) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    """Open (and set up) the checkpointer for `url`; closes it on exit."""
    if is_postgres(url):
        async with _open_postgres(url) as saver:
            yield saver
        return
    path = sqlite_path(url)
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    # SQLite calls run on the event loop's thread: see checkpoints/inline_sqlite.py.
    async with inline_sqlite.connect(path) as conn:
        yield await sqlite_saver(conn)


async def sqlite_saver(conn: aiosqlite.Connection) -> AsyncSqliteSaver:
    """An AsyncSqliteSaver on `conn`, with the PRAGMAs above and its tables set up."""
    for pragma in _SQLITE_PRAGMAS:
        await conn.execute(pragma)
    saver = AsyncSqliteSaver(conn)
    await saver.setup()
    return saver


@asynccontextmanager
async def _open_postgres(url: str) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    try:
        from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver
        from psycopg.rows import dict_row
        from psycopg_pool import AsyncConnectionPool
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "a Postgres checkpoint URL needs the postgres extra: pip install 'graphyard[postgres]'"
        ) from exc
    conninfo = url.replace("postgresql+psycopg://", "postgresql://").replace(
        "postgresql+asyncpg://", "postgresql://"
    )
    kwargs = {"autocommit": True, "prepare_threshold": 0, "row_factory": dict_row}
    async with AsyncConnectionPool(conninfo, kwargs=kwargs, max_size=20, open=False) as pool:
        saver = AsyncPostgresSaver(conn=pool)  # type: ignore[arg-type]
        await saver.setup()
        yield saver
