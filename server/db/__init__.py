"""Persistence: engine and sessions, ORM tables, migrations."""

from server.db.engine import Database, create_engine, create_session_factory
from server.db.migrate import upgrade_database, upgrade_engine
from server.db.types import utcnow

__all__ = [
    "Database",
    "create_engine",
    "create_session_factory",
    "upgrade_database",
    "upgrade_engine",
    "utcnow",
]
