"""Request dependencies for what the app holds: the session, settings, the tool registry."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from graphs.registry import Registry
from server.db.engine import Database
from server.settings import Settings


def get_db(request: Request) -> Database:
    """The app's Database (engine + session factory)."""
    db: Database = request.app.state.db
    return db


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One session per request; the route commits, anything uncommitted is rolled back."""
    async with get_db(request).sessions() as session:
        yield session


def get_settings(request: Request) -> Settings:
    """The app's settings."""
    settings: Settings = request.app.state.settings
    return settings


def get_registry(request: Request) -> Registry:
    """The tool and agent registry built at startup."""
    registry: Registry = request.app.state.registry
    return registry


SessionDep = Annotated[AsyncSession, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RegistryDep = Annotated[Registry, Depends(get_registry)]
