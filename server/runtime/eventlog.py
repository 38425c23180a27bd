"""The run event log: every event is stored with its sequence number, then fanned out.

One writer task takes whatever events are waiting (from every run) and stores them in one
transaction: one multi-row INSERT, plus the node-state changes they imply (`on_batch`).
Only then does it wake their senders and live subscribers. Batching keeps the single
SQLite writer from becoming the bottleneck when many runs emit at once.

Sequence numbers are handed out here, per run, starting after the largest one stored; a
batch that fails (another process wrote events of the same run) forgets its numbers and is
tried again once with numbers read afresh, so ids stay strictly increasing without gaps.
Subscribers have bounded queues: a slow or vanished client loses its live feed (and reads
the stored log instead); it never slows a run or grows memory without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, cast

from sqlalchemy import Table, bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.db.models import Run, RunEvent
from server.db.types import iso, utcnow

logger = logging.getLogger("graphyard.events")
BatchHook = Callable[[AsyncSession, list[dict[str, Any]]], Awaitable[None]]
Guard = Callable[[AsyncSession], Awaitable[bool]]
MAX_BATCH = 500
SUBSCRIBER_QUEUE = 1000
MAX_CACHED_SEQS = 10_000  # sequence numbers are re-read from the log when dropped
_EVENTS = cast(Table, RunEvent.__table__)  # Core: a multi-row INSERT, no ORM bookkeeping
_RUNS = cast(Table, Run.__table__)


@dataclass
class _Pending:
    run_id: str
    type: str
    data: dict[str, Any]
    guard: Guard | None = None  # stored only if this returns True, in the same transaction
    run_fields: dict[str, Any] | None = None  # columns of the run set with the event
    done: asyncio.Future[dict[str, Any] | None] = field(
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

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], on_batch: BatchHook | None = None
    ) -> None:
        self.sessions = sessions
        self.on_batch = on_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._subscribers: dict[str, set[Subscriber]] = {}
        self._last_seq: dict[str, int] = {}
        self._writer: asyncio.Task[None] | None = None

    async def __aenter__(self) -> EventLog:
        self._writer = asyncio.create_task(self._write_loop(), name="graphyard-event-writer")
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._writer is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._flushed(), 5)
            self._writer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._writer

    async def _flushed(self) -> None:
        while not self._queue.empty():  # noqa: ASYNC110 - only at shutdown, for a moment
            await asyncio.sleep(0.01)

    def post(
        self,
        run_id: str,
        type: str,
        data: dict[str, Any] | None = None,
        guard: Guard | None = None,
        run_fields: dict[str, Any] | None = None,
    ) -> asyncio.Future[dict[str, Any] | None]:
        """Queue an event; the future resolves to the stored event (None: its guard said no).

        `run_fields`: columns of the run to set in the same transaction (e.g. progress).
        """
        item = _Pending(run_id, type, dict(data or {}), guard, run_fields)
        self._queue.put_nowait(item)
        return item.done

    async def append(
        self, run_id: str, type: str, data: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        """Store one event and return it as sent (`run_id`, `seq`, `type`, `ts`, data...)."""
        return await asyncio.shield(self.post(run_id, type, data))

    async def append_if(
        self, guard: Guard, run_id: str, type: str, data: dict[str, Any] | None = None
    ) -> bool:
        """Run `guard` (e.g. a conditional status change) and store the event in the same
        transaction if it returns True, so a crash cannot keep one without the other."""
        return await asyncio.shield(self.post(run_id, type, data, guard)) is not None

    def new_run(self, run_id: str) -> None:
        """A run just created has no events: its first one is number 1 (no lookup needed)."""
        self._last_seq.setdefault(run_id, 0)

    def forget(self, run_id: str) -> None:
        """Drop the cached sequence number of a run this process no longer writes for."""
        self._last_seq.pop(run_id, None)

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
                events = await self._store_with_retry(batch)
            except Exception as exc:  # keep the writer alive; senders see the error
                if len(batch) > 1:  # one bad item must not sink the others: one by one
                    for item in batch:
                        await self._store_alone(item)
                    continue
                logger.exception("storing an event failed")
                if not batch[0].done.done():
                    batch[0].done.set_exception(exc)
                continue
            for item, event in zip(batch, events, strict=True):
                self._deliver(item, event)

    async def _store_alone(self, item: _Pending) -> None:
        try:
            [event] = await self._store_with_retry([item])
        except Exception as exc:
            logger.exception("storing a %s event of run %s failed", item.type, item.run_id)
            if not item.done.done():
                item.done.set_exception(exc)
            return
        self._deliver(item, event)

    def _deliver(self, item: _Pending, event: dict[str, Any] | None) -> None:
        """Wake the sender and the run's live subscribers (None: the guard said no)."""
        if event is not None:
            for sub in list(self._subscribers.get(item.run_id, ())):
                sub.offer(event)
        if not item.done.done():
            item.done.set_result(event)

    async def _store_with_retry(self, batch: list[_Pending]) -> list[dict[str, Any] | None]:
        try:
            return await self._store(batch)
        except IntegrityError:
            for item in batch:
                self.forget(item.run_id)
            return await self._store(batch)

    async def _store(self, batch: list[_Pending]) -> list[dict[str, Any] | None]:
        async with self.sessions() as session:
            try:
                if len(self._last_seq) > MAX_CACHED_SEQS:
                    self._last_seq.clear()
                for run_id in {i.run_id for i in batch} - set(self._last_seq):
                    last = await session.scalar(
                        select(func.max(RunEvent.seq)).where(RunEvent.run_id == run_id)
                    )
                    self._last_seq[run_id] = int(last or 0)
                kept = [item.guard is None or await item.guard(session) for item in batch]
                events, rows = self._number(
                    [i for i, keep in zip(batch, kept, strict=True) if keep]
                )
                if rows:
                    await session.execute(_EVENTS.insert(), rows)
                await _set_run_fields(session, [i for i, k in zip(batch, kept, strict=True) if k])
                if self.on_batch is not None and events:
                    await self.on_batch(session, events)
                await session.commit()
            except BaseException:
                for item in batch:  # the numbers were not used: read them afresh next time
                    self.forget(item.run_id)
                raise
        stored = iter(events)
        return [next(stored) if keep else None for keep in kept]

    def _number(self, batch: list[_Pending]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        events, rows = [], []
        now = utcnow()
        for item in batch:
            seq = self._last_seq[item.run_id] + 1
            self._last_seq[item.run_id] = seq
            rows.append(
                {"run_id": item.run_id, "seq": seq, "type": item.type, "ts": now, "data": item.data}
            )
            head = {"run_id": item.run_id, "seq": seq, "type": item.type, "ts": iso(now)}
            events.append({**head, **{k: v for k, v in item.data.items() if k not in head}})
        return events, rows


async def _set_run_fields(session: AsyncSession, items: list[_Pending]) -> None:
    """The run columns that came with a batch's events: the last value per run wins, and
    runs that set the same columns share one executemany UPDATE. They are set after the
    batch's guards; a run's pass waits for its events before it changes the run's status,
    so no earlier field of a run can land in the batch of its status change."""
    latest: dict[str, dict[str, Any]] = {}
    for item in items:
        if item.run_fields:
            latest[item.run_id] = {**latest.get(item.run_id, {}), **item.run_fields}
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    for run_id, fields in latest.items():
        groups.setdefault(tuple(sorted(fields)), []).append({**fields, "r": run_id})
    for columns, params in groups.items():
        stmt = _RUNS.update().where(_RUNS.c.run_id == bindparam("r"))
        await session.execute(stmt.values({c: bindparam(c) for c in columns}), params)
