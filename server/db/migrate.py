"""Apply the packaged Alembic migrations programmatically (no alembic.ini needed)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from server.db.engine import create_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(database_url: str | None = None) -> Config:
    """An Alembic Config pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if database_url is not None:
        # ConfigParser treats % as interpolation; URL-encoded passwords contain it.
        config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _upgrade_on(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade_engine(engine: AsyncEngine, revision: str = "head") -> None:
    """Upgrade the database behind `engine` (used by the app on start)."""
    async with engine.connect() as connection:
        await connection.run_sync(_upgrade_on, revision)
        await connection.commit()


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Upgrade the database at `database_url` to `revision`; for `graphyard db upgrade`.

    Synchronous: call it from a CLI, or via `asyncio.to_thread` from async code.
    """
    asyncio.run(_upgrade_url(database_url, revision))


async def _upgrade_url(database_url: str, revision: str) -> None:
    engine = create_engine(database_url)
    try:
        await upgrade_engine(engine, revision)
    finally:
        await engine.dispose()
