"""Request dependencies for the executor and the event log held on `app.state`."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from server.runtime.eventlog import EventLog
from server.runtime.executor import Executor


def get_executor(request: Request) -> Executor:
    executor: Executor = request.app.state.executor
    return executor


def get_events(request: Request) -> EventLog:
    events: EventLog = request.app.state.events
    return events


ExecutorDep = Annotated[Executor, Depends(get_executor)]
EventsDep = Annotated[EventLog, Depends(get_events)]
