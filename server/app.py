"""The FastAPI application factory; nothing happens at import time."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

from fastapi import FastAPI

from graphs.registry import Registry
from server.bootstrap import bootstrap_database, load_or_create_admin_token
from server.db.engine import Database
from server.db.migrate import upgrade_engine
from server.errors import register_error_handlers
from server.metrics import Metrics
from server.middleware import BodyLimitMiddleware, CatchAllMiddleware, RequestCountMiddleware
from server.routes import events, gates, health, projects, runs, workflows
from server.runtime.lifecycle import start_runtime
from server.schemas.common import document_parameters_plainly
from server.settings import Settings

logger = logging.getLogger("graphyard.server")


async def _open_database(app: FastAPI, stack: AsyncExitStack) -> Database:
    settings: Settings = app.state.settings
    db = Database.open(settings.db_url)
    stack.push_async_callback(db.dispose)
    await upgrade_engine(db.engine)
    async with db.sessions() as session:
        app.state.bootstrap_key = await bootstrap_database(session)
        await session.commit()
    return db


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Open the database (migrated, bootstrapped), the admin token and the tool registry.

    State for the rest of the server lives on `app.state`:
    `settings`, `db` (Database: engine + `sessions`), `admin_token`, `bootstrap_key`
    (the key printed on first start, else None), `registry`, `metrics`, `metric_sources`.
    The run executor (server/runtime/) is to be entered on `stack` after the registry, so
    it starts last and stops first.
    """
    settings: Settings = app.state.settings
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    async with AsyncExitStack() as stack:
        app.state.admin_token = load_or_create_admin_token(settings)
        app.state.db = await _open_database(app, stack)
        app.state.registry = Registry.from_settings(settings.tool_modules, settings.langgraph_json)
        await start_runtime(app, stack)
        logger.info("graphyard ready (database %s)", app.state.db.engine.url)
        yield


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the app for `settings` (default: read from the environment)."""
    settings = settings if settings is not None else Settings()
    app = FastAPI(
        title="Graphyard",
        version="0.1.0",
        summary="An open workflow server on LangGraph.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.metrics = Metrics()
    app.state.metric_sources = []
    app.state.bootstrap_key = None
    register_error_handlers(app)
    document_parameters_plainly(app)
    # Added last runs first: count everything, then catch crashes, then limit bodies.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(CatchAllMiddleware)
    app.add_middleware(RequestCountMiddleware, metrics=app.state.metrics)
    app.include_router(health.router)
    app.include_router(projects.router)
    # Run routes (/workflows/runs...) must be included before the workflow routes, whose
    # `/workflows/{wid}` would otherwise match the reserved id `runs`.
    app.include_router(runs.router)
    app.include_router(gates.router)
    app.include_router(events.router)
    app.include_router(workflows.router)
    return app
