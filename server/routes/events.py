"""A run's events over Server-Sent Events: the stored log first, then live."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from server.auth import Viewer
from server.crud.events import event_payload, last_status_event, list_events
from server.crud.runs import get_run, load_run
from server.db.engine import Database
from server.deps import SessionDep, get_db
from server.runtime.deps import EventsDep
from server.runtime.eventlog import EventLog
from server.schemas.common import MAX_INT_PARAM, error_responses
from server.statuses import TERMINAL_RUN_STATUSES

DatabaseDep = Annotated[Database, Depends(get_db)]
router = APIRouter(prefix="/api/projects/{pid}/workflows/runs/{rid}", tags=["events"])
KEEP_ALIVE_SECONDS = 15
POLL_SECONDS = 1.0  # without a live wake-up (another process wrote), read the log this often
PAGE = 500
# A run's status is committed a moment before its `run.status` event is stored (a cancel
# stops the run's task in between): a stream that finds the run over waits this long for it.
END_GRACE_SECONDS = 5.0


def _is_end(event: dict[str, Any]) -> bool:
    return event["type"] == "run.status" and event.get("status") in TERMINAL_RUN_STATUSES


def _sse(event: dict[str, Any]) -> ServerSentEvent:
    return ServerSentEvent(
        data=json.dumps(event, default=str), event=event["type"], id=str(event["seq"])
    )


async def _stream(
    db: Database, events: EventLog, run_id: str, after: int
) -> AsyncIterator[ServerSentEvent]:
    """Replay after `after`, then follow live until a terminal `run.status` event.

    Live events only wake the reader; what it sends always comes from the stored log in
    sequence order, so ids have no gaps, even for a reader that fell behind.
    """
    sub = events.subscribe(run_id)
    last = after
    give_up: float | None = None
    try:
        while True:
            async with db.sessions() as session:
                rows = await list_events(session, run_id, last, PAGE)
                run = await load_run(session, run_id) if len(rows) < PAGE else None
            for row in rows:
                event = event_payload(row)
                last = event["seq"]
                yield _sse(event)
                if _is_end(event):
                    return
            if len(rows) == PAGE:
                continue
            if run is None:
                return
            if run.status in TERMINAL_RUN_STATUSES:
                now = asyncio.get_running_loop().time()
                if give_up is None:
                    if await _ended_at_or_before(db, run_id, last):
                        return  # a finished run: replayed, nothing more will come
                    give_up = now + END_GRACE_SECONDS
                elif now > give_up:
                    return
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(sub.queue.get(), POLL_SECONDS)
            while not sub.queue.empty():
                sub.queue.get_nowait()
            sub.lagged = False
    finally:
        events.unsubscribe(run_id, sub)


async def _ended_at_or_before(db: Database, run_id: str, seq: int) -> bool:
    """Was the run's terminal `run.status` event already sent (seq <= `seq`)?"""
    async with db.sessions() as session:
        row = await last_status_event(session, run_id, seq)
    return row is not None and _is_end(event_payload(row))


@router.get(
    "/events",
    responses={
        **error_responses(403, 404),
        200: {"content": {"text/event-stream": {}}, "description": "The event stream"},
    },
)
async def stream_events(
    pid: str,
    rid: str,
    session: SessionDep,
    db: DatabaseDep,
    events: EventsDep,
    _: Viewer,
    last_event_id: Annotated[int | None, Query(ge=0, le=MAX_INT_PARAM)] = None,
    last_event_id_header: Annotated[
        int | None, Header(alias="Last-Event-ID", ge=0, le=MAX_INT_PARAM)
    ] = None,
) -> EventSourceResponse:
    """Server-Sent Events of the run; `Last-Event-ID` (or `?last_event_id=`) replays after N."""
    await get_run(session, pid, rid)
    await session.commit()  # the stream opens its own sessions; hold no connection meanwhile
    after = last_event_id_header if last_event_id_header is not None else (last_event_id or 0)
    return EventSourceResponse(
        _stream(db, events, rid, after),
        ping=KEEP_ALIVE_SECONDS,
        ping_message_factory=lambda: ServerSentEvent(comment="keep-alive"),
    )
