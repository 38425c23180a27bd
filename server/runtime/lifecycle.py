"""Start and stop the run machinery inside the app's lifespan."""

from __future__ import annotations

from contextlib import AsyncExitStack

from fastapi import FastAPI

from checkpoints import open_checkpointer
from server.bootstrap import DEFAULT_PROJECT
from server.crud.projects import get_project
from server.loader import EXAMPLES_DIR, load_workflow_dir
from server.runtime.effects import apply_events
from server.runtime.eventlog import EventLog
from server.runtime.executor import Executor
from server.settings import Settings


async def load_workflow_files(app: FastAPI) -> None:
    """The examples (unless turned off) and the workflows directory, into `default`."""
    settings: Settings = app.state.settings
    folders = [EXAMPLES_DIR] if settings.load_examples and EXAMPLES_DIR.is_dir() else []
    if settings.workflows_dir is not None:
        folders.append(settings.workflows_dir)
    async with app.state.db.sessions() as session:
        if await get_project(session, DEFAULT_PROJECT) is None:
            return
        for folder in folders:
            await load_workflow_dir(session, DEFAULT_PROJECT, folder, app.state.registry)
        await session.commit()


async def start_runtime(app: FastAPI, stack: AsyncExitStack) -> None:
    """Checkpointer, event log and executor (which resumes runs a dead process left)."""
    settings: Settings = app.state.settings
    assert settings.checkpoint_url is not None
    await load_workflow_files(app)
    app.state.checkpointer = await stack.enter_async_context(
        open_checkpointer(settings.checkpoint_url)
    )
    app.state.events = await stack.enter_async_context(
        EventLog(app.state.db.sessions, on_batch=apply_events)
    )
    app.state.executor = await stack.enter_async_context(
        Executor(
            settings, app.state.db, app.state.checkpointer, app.state.registry, app.state.events
        )
    )
