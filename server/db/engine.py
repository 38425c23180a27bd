"""Async engine and session factory; SQLite is tuned for a concurrent server."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from checkpoints import inline_sqlite

SQLITE_BUSY_TIMEOUT_MS = 10_000


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL: readers never block the writer and the writer never blocks readers, so SSE
    # streams and status polls keep going while the executor writes.
    cursor.execute("PRAGMA journal_mode=WAL")
    # SQLite allows one writer; wait for the lock instead of failing at once with
    # "database is locked" when two requests write at the same moment.
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # SQLite ignores foreign keys unless asked, per connection; we rely on them.
    cursor.execute("PRAGMA foreign_keys=ON")
    # In WAL mode NORMAL is still crash-safe for the database (a power cut may lose the
    # last commits, never corrupt), and skips an fsync per commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def create_engine(database_url: str) -> AsyncEngine:
    """An AsyncEngine for `sqlite+aiosqlite://` or `postgresql+asyncpg://` URLs."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        # One connection: SQLite has one writer, and when two connections want to write,
        # the loser sleeps in SQLite's busy handler (1, 2, 5, 10 ... ms), which under load
        # costs more than queueing for a single connection (measured: +25% runs/s, -30%
        # CPU per run at 32 concurrent runs). So nothing may hold a session while it waits
        # for another one (routes commit before calling the executor).
        # Its SQLite calls run on the event loop's thread, not in aiosqlite's worker thread
        # (checkpoints/inline_sqlite.py): the hand-off cost more CPU than the SQL.
        # The URL's options (timeout, uri, mode ...) as SQLAlchemy's dialect reads them.
        args, options = url.get_dialect()().create_connect_args(url)
        engine = create_async_engine(
            url,
            pool_size=1,
            max_overflow=0,
            pool_timeout=30,
            async_creator=lambda: inline_sqlite.connect(*args, **options),
        )
        event.listen(engine.sync_engine, "connect", _set_sqlite_pragmas)
        return engine
    # A server outlives database restarts: check pooled connections before use.
    return create_async_engine(url, pool_pre_ping=True)


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions that keep loaded attributes after commit (routes render after committing)."""
    return async_sessionmaker(engine, expire_on_commit=False)


@dataclass
class Database:
    """The engine plus its session factory; one per app, on `app.state.db`."""

    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]

    @classmethod
    def open(cls, database_url: str) -> Database:
        """Create the engine (it connects lazily) and its session factory."""
        engine = create_engine(database_url)
        return cls(engine=engine, sessions=create_session_factory(engine))

    @property
    def is_sqlite(self) -> bool:
        """True for SQLite (one writer at a time)."""
        return self.engine.dialect.name == "sqlite"

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.engine.dispose()
