"""A run's events over Server-Sent Events: the stored log first, then live."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Query
from sse_starlette import EventSourceResponse, ServerSentEvent

from server.auth import Viewer
from server.crud.events import event_payload, last_status_event, list_events
from server.crud.runs import get_run, load_run
from server.db.engine import Database
from server.deps import SessionDep, get_db
from server.runtime.deps import EventsDep
from server.runtime.eventlog import EventLog, Subscriber
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

    Live events come from this process's fan-out and are sent as they are while their
    numbers follow on without a gap; otherwise (a reader that fell behind, events written
    by another process, a quiet second) the stored log is read, in sequence order.
    """
    sub = events.subscribe(run_id)
    state = _StreamState(last=after)
    try:
        while True:
            async for stored in _from_log(db, run_id, state):
                yield stored
            if state.done:
                return
            try:
                live = await _live_batch(sub)
            except TimeoutError:
                continue  # read the log again
            for item in live:
                if item["seq"] <= state.last:
                    continue
                if item["seq"] != state.last + 1:
                    break  # a gap: the log has what is missing
                state.last = item["seq"]
                yield _sse(item)
                if _is_end(item):
                    return
    finally:
        events.unsubscribe(run_id, sub)


@dataclass
class _StreamState:
    last: int
    done: bool = False
    give_up: float | None = None


async def _live_batch(sub: Subscriber) -> list[dict[str, Any]]:
    """The next live events (waits up to POLL_SECONDS); [] after a lag, so the log is read."""
    first = await asyncio.wait_for(sub.queue.get(), POLL_SECONDS)
    batch = [first]
    while not sub.queue.empty():
        batch.append(sub.queue.get_nowait())
    if sub.lagged:
        sub.lagged = False
        return []
    return batch


async def _from_log(
    db: Database, run_id: str, state: _StreamState
) -> AsyncIterator[ServerSentEvent]:
    """Send what the log holds after `state.last`; set `state.done` when nothing more
    will come (the terminal event was sent, or the run is over or gone)."""
    while True:
        async with db.sessions() as session:
            rows = await list_events(session, run_id, state.last, PAGE)
            run = await load_run(session, run_id) if len(rows) < PAGE else None
        for row in rows:
            event = event_payload(row)
            state.last = event["seq"]
            yield _sse(event)
            if _is_end(event):
                state.done = True
                return
        if len(rows) < PAGE:
            break
    if run is None:
        state.done = True
    elif run.status in TERMINAL_RUN_STATUSES:
        now = asyncio.get_running_loop().time()
        if state.give_up is None:
            if await _ended_at_or_before(db, run_id, state.last):
                state.done = True  # a finished run: replayed, nothing more will come
            state.give_up = now + END_GRACE_SECONDS
        elif now > state.give_up:
            state.done = True


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
