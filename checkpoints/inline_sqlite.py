"""An aiosqlite connection that runs SQLite calls on the event loop's own thread.

aiosqlite runs every call (cursor, execute, fetch, close, commit) in a worker thread and
wakes the event loop when it is done: about 55 us of CPU per call on this project's
machines, against about 1 us for the SQLite call itself. SQLAlchemy makes three or four
such calls per statement, so a run of a 3-node workflow spent more CPU on hand-offs than
on its SQL (measured in docs/server.md, "SQLite on the event loop").

`InlineConnection` keeps aiosqlite's whole API (SQLAlchemy's aiosqlite dialect and
LangGraph's AsyncSqliteSaver both use it unchanged) and only replaces how a call is
dispatched: it runs at once, in the calling thread, and its awaitable is already done.

The price: a slow statement holds up the event loop for its duration. Each database file
has one such connection in the server (the writer lock then never waits on a connection of
our own), statements are indexed point reads and small writes, and WAL mode means readers
never wait for a writer. A second process holding the write lock (the CLI on the same
file) makes the server wait up to `busy_timeout`.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Generator
from functools import partial
from typing import Any

import aiosqlite


class _Started:
    """Stands in for aiosqlite's worker thread (LangGraph asks whether it is alive)."""

    def __init__(self, conn: InlineConnection) -> None:
        self._conn = conn

    def is_alive(self) -> bool:
        return self._conn._connection is not None

    def start(self) -> None:  # pragma: no cover - nothing to start
        return None


class _InlineQueue:
    """aiosqlite's job queue, run at once: SQLAlchemy puts jobs on it directly."""

    def put_nowait(self, job: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = job
        try:
            result = function()
        except BaseException as exc:  # handed to the waiter, as aiosqlite's thread does
            if future is not None and not future.done():
                future.set_exception(exc)
            return
        if future is not None and not future.done():
            future.set_result(result)


class InlineConnection(aiosqlite.Connection):
    """aiosqlite's Connection with each call run inline instead of in a thread."""

    def __init__(self, connector: Callable[[], sqlite3.Connection]) -> None:
        super().__init__(connector, iter_chunk_size=64)
        self._thread = _Started(self)  # type: ignore[assignment]
        self._tx = _InlineQueue()  # type: ignore[assignment]

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or self._connection is None:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)

    async def _connect(self) -> InlineConnection:
        if self._connection is None:
            self._connection = self._connector()
        return self

    def __await__(self) -> Generator[Any, None, InlineConnection]:
        return self._connect().__await__()

    def stop(self) -> asyncio.Future[Any] | None:
        self._running = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None
        return None


def connect(database: str, *args: Any, **kwargs: Any) -> InlineConnection:
    """Like `aiosqlite.connect`, for an `InlineConnection` (it connects when awaited)."""
    return InlineConnection(partial(sqlite3.connect, database, *args, **kwargs))
