"""Database setup: PRAGMAs, Postgres URLs, migrations that match the models, UTC timestamps."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta, timezone
from importlib import resources
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, create_engine, inspect, text

from server.crud.projects import create_project
from server.db.engine import Database
from server.db.migrate import upgrade_database, upgrade_engine
from server.db.models import Base, Project
from server.db.types import iso


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"


async def test_sqlite_pragmas_on_every_connection(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        async with db.engine.connect() as conn:
            values = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "busy_timeout", "foreign_keys", "synchronous")
            }
        assert values == {
            "journal_mode": "wal",
            "busy_timeout": 10_000,
            "foreign_keys": 1,
            "synchronous": 1,  # NORMAL
        }
        assert db.is_sqlite
    finally:
        await db.dispose()


async def test_postgres_url_is_accepted() -> None:
    db = Database.open("postgresql+asyncpg://user:pw@localhost:5432/graphyard")
    assert db.engine.dialect.name == "postgresql" and db.engine.dialect.driver == "asyncpg"
    assert not db.is_sqlite
    await db.dispose()


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_create_exactly_the_models(db_url: str) -> None:
    await asyncio.to_thread(upgrade_database, db_url)
    await asyncio.to_thread(upgrade_database, db_url)  # idempotent
    db = Database.open(db_url)
    try:
        async with db.engine.connect() as conn:
            assert await conn.run_sync(_diff) == []
            version = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert version == "0002"
        assert tables >= {
            "projects",
            "api_keys",
            "workflows",
            "workflow_versions",
            "runs",
            "node_states",
            "gates",
            "run_events",
            "run_counts",
        }
    finally:
        await db.dispose()


def test_upgrade_database_is_synchronous_for_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0002"
    engine.dispose()


def test_migration_files_ship_inside_the_package() -> None:
    root = resources.files("server.db.migrations")
    assert root.joinpath("env.py").is_file()
    assert root.joinpath("script.py.mako").is_file()
    assert root.joinpath("versions", "0001_initial.py").is_file()


async def test_timestamps_come_back_aware_utc(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        await upgrade_engine(db.engine)
        async with db.sessions() as session:
            project = await create_project(session, "p", "P")
            project.created_at = datetime(2030, 1, 2, 5, 0, tzinfo=timezone(timedelta(hours=2)))
            await session.commit()
        async with db.sessions() as session:
            loaded = await session.get(Project, "p")
        assert loaded is not None
        assert loaded.created_at == datetime(2030, 1, 2, 3, 0, tzinfo=UTC)
        assert loaded.created_at.tzinfo is not None
        assert iso(loaded.created_at) == "2030-01-02T03:00:00Z"
    finally:
        await db.dispose()


async def test_naive_datetimes_are_refused(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        await upgrade_engine(db.engine)
        async with db.sessions() as session:
            session.add(Project(id="p", name="P", created_at=datetime(2030, 1, 1)))
            with pytest.raises(Exception, match="naive datetime"):
                await session.flush()
    finally:
        await db.dispose()


async def test_foreign_keys_are_enforced(db_url: str) -> None:
    db = Database.open(db_url)
    try:
        await upgrade_engine(db.engine)
        async with db.engine.connect() as conn:
            with pytest.raises(Exception, match="FOREIGN KEY"):
                await conn.execute(
                    text(
                        "INSERT INTO api_keys (id, project_id, name, role, key_hash, created_at)"
                        " VALUES ('k', 'missing', 'n', 'viewer', 'h', '2030-01-01')"
                    )
                )
    finally:
        await db.dispose()


async def test_upgrading_an_existing_database_counts_its_runs(tmp_path: Path) -> None:
    """Migration 0002 fills the run counters from the runs already stored."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'old.db'}"
    await asyncio.to_thread(upgrade_database, url, "0001")
    sync = create_engine(f"sqlite:///{tmp_path / 'old.db'}")
    with sync.begin() as conn:
        conn.execute(
            text("INSERT INTO projects (id, name, created_at) VALUES ('p', 'p', '2025-01-01')")
        )
        conn.execute(text(
            "INSERT INTO workflows (project_id, id, latest_version, created_at, updated_at) "
            "VALUES ('p', 'w', 1, '2025-01-01', '2025-01-01')"
        ))
        conn.execute(text(
            "INSERT INTO workflow_versions (project_id, workflow_id, version, definition, "
            "created_at) VALUES ('p', 'w', 1, '{}', '2025-01-01')"
        ))
        for i, status in enumerate(["COMPLETED", "COMPLETED", "FAILED"]):
            conn.execute(text(
                "INSERT INTO runs (run_id, project_id, workflow_id, workflow_version, status, "
                "input, usage, progress, retry_count, last_event_seq, created_at) "
                f"VALUES ('r{i}', 'p', 'w', 1, '{status}', '{{}}', '{{}}', 0, 0, 0, '2025-01-01')"
            ))
    await asyncio.to_thread(upgrade_database, url)
    with sync.begin() as conn:
        rows = conn.execute(text("SELECT status, n FROM run_counts ORDER BY status")).all()
        assert [tuple(r) for r in rows] == [("COMPLETED", 2), ("FAILED", 1)]
        conn.execute(text("UPDATE runs SET status = 'FAILED' WHERE run_id = 'r0'"))
        conn.execute(text("DELETE FROM runs WHERE run_id = 'r1'"))
        rows = conn.execute(text("SELECT status, n FROM run_counts ORDER BY status")).all()
        assert [tuple(r) for r in rows] == [("COMPLETED", 0), ("FAILED", 2)]
    sync.dispose()


async def test_sqlite_url_options_reach_the_connection(tmp_path: Path) -> None:
    """Options in a SQLite URL (here a read-only URI) apply to the server's connection."""
    await asyncio.to_thread(upgrade_database, f"sqlite+aiosqlite:///{tmp_path / 'ro.db'}")
    db = Database.open(f"sqlite+aiosqlite:///file:{tmp_path / 'ro.db'}?mode=ro&uri=true")
    try:
        async with db.engine.connect() as conn:
            assert (await conn.execute(text("SELECT count(*) FROM projects"))).scalar() == 0
            with pytest.raises(Exception, match="readonly"):
                await conn.execute(text("INSERT INTO run_counts VALUES ('p', 'w', 'X', 1)"))
    finally:
        await db.dispose()
