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
        assert version == "0001"
        assert tables >= {
            "projects",
            "api_keys",
            "workflows",
            "workflow_versions",
            "runs",
            "node_states",
            "gates",
            "run_events",
        }
    finally:
        await db.dispose()


def test_upgrade_database_is_synchronous_for_the_cli(tmp_path: Path) -> None:
    path = tmp_path / "cli.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    engine = create_engine(f"sqlite:///{path}")
    with engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == "0001"
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
