"""The run event log: every event is stored with its sequence number, then fanned out.

One writer task takes whatever events are waiting (from every run), stores them in one
transaction, and only then wakes their senders and live subscribers. Batching keeps the
single SQLite writer from becoming the bottleneck when many runs emit at once.
Subscribers have bounded queues: a slow or vanished client loses its live feed (and reads
the stored log instead), it never slows a run or grows memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.crud.events import append_event, event_payload

logger = logging.getLogger("graphyard.events")
Effect = Callable[[AsyncSession], Awaitable[None]]
MAX_BATCH = 500
SUBSCRIBER_QUEUE = 1000


@dataclass
class _Pending:
    run_id: str
    type: str
    data: dict[str, Any]
    effect: Effect | None
    done: asyncio.Future[dict[str, Any]] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Subscriber:
    """A live feed of one run's events; `lagged` once it fell too far behind."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(SUBSCRIBER_QUEUE)
        self.lagged = False

    def offer(self, event: dict[str, Any]) -> None:
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.lagged = True  # the reader falls back to the stored log


class EventLog:
    """Append events durably (batched) and fan them out to live subscribers."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self.sessions = sessions
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._writer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventLog:
        self._writer = asyncio.create_task(self._write_loop(), name="graphyard-event-writer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._writer is not None:
            await self._drain()
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _drain(self) -> None:
        for _ in range(100):
            if self._queue.empty():
                return
            await asyncio.sleep(0.01)

    async def append(
        self,
        run_id: str,
        type: str,
        data: dict[str, Any] | None = None,
        effect: Effect | None = None,
    ) -> dict[str, Any]:
        """Store one event (and run `effect` in the same transaction); returns the event."""
        item = _Pending(run_id, type, dict(data or {}), effect)
        await self._queue.put(item)
        return await asyncio.shield(item.done)

    def subscribe(self, run_id: str) -> Subscriber:
        sub = Subscriber()
        self._subscribers.setdefault(run_id, set()).add(sub)
        return sub

    def unsubscribe(self, run_id: str, sub: Subscriber) -> None:
        subs = self._subscribers.get(run_id)
        if subs is not None:
            subs.discard(sub)
            if not subs:
                del self._subscribers[run_id]

    async def _write_loop(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < MAX_BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                events = await self._store(batch)
            except Exception as exc:  # keep the writer alive; senders see the error
                logger.exception("storing %d events failed", len(batch))
                for item in batch:
                    if not item.done.done():
                        item.done.set_exception(exc)
                continue
            for item, event in zip(batch, events, strict=True):
                for sub in list(self._subscribers.get(item.run_id, ())):
                    sub.offer(event)
                if not item.done.done():
                    item.done.set_result(event)

    async def _store(self, batch: list[_Pending]) -> list[dict[str, Any]]:
        async with self.sessions() as session:
            events = []
            for item in batch:
                row = await append_event(session, item.run_id, item.type, item.data)
                if item.effect is not None:
                    await item.effect(session)
                events.append(event_payload(row))
            await session.commit()
        return events
