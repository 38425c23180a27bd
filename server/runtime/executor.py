"""The executor: runs as background tasks under a concurrency limit, one execution per run.

Every change of a run's status is a conditional UPDATE (`transition_run`), so racing
requests (cancel vs completion, two gate decisions, two resumes) have exactly one winner.
A run's durable state is its checkpoint plus its database rows; nothing about a waiting,
paused or scheduled run is held in memory, so it survives restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

from langgraph.checkpoint.base import BaseCheckpointSaver
from sqlalchemy import func
from sqlalchemy.ext.asyncio import AsyncSession

from graphs.compile import GraphCache
from graphs.registry import Registry
from server.crud.runs import (
    due_retries,
    insert_run,
    load_run,
    runs_with_status,
    transition_run,
)
from server.db.engine import Database
from server.db.models import Run
from server.db.types import utcnow
from server.runtime.effects import change_status
from server.runtime.eventlog import EventLog
from server.runtime.passes import RunPasses
from server.settings import Settings
from server.statuses import TERMINAL_RUN_STATUSES, RunStatus

logger = logging.getLogger("graphyard.executor")
SWEEP_SECONDS = 0.5
STOP_WAIT_SECONDS = 1.0
SETTLED = {*TERMINAL_RUN_STATUSES, RunStatus.WAITING, RunStatus.PAUSED}
CANCELLABLE = (
    RunStatus.PENDING,
    RunStatus.QUEUED,
    RunStatus.RUNNING,
    RunStatus.PAUSED,
    RunStatus.WAITING,
    RunStatus.RETRY_SCHEDULED,
)


class Executor:
    """Starts, stops and recovers runs; routes call it, it never calls routes."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        checkpointer: BaseCheckpointSaver[Any],
        registry: Registry,
        events: EventLog,
    ) -> None:
        self.settings = settings
        self.db = db
        self.events = events
        self.checkpointer = checkpointer
        self.slots = asyncio.Semaphore(settings.max_concurrent_runs)
        self.passes = RunPasses(settings, db, GraphCache(registry, checkpointer), events)
        self.active: dict[str, asyncio.Task[None]] = {}
        self._sweeper: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Executor:
        await self.recover()
        self._sweeper = asyncio.create_task(self._sweep_retries(), name="graphyard-retries")
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Stop every run at once; they stay RUNNING and resume from their checkpoints."""
        # Wait for every task to unwind while the database is still open: a task cancelled
        # later, when the event loop closes, would wait forever on a closed connection.
        tasks = list(self.active.values())
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=5)

    async def recover(self) -> None:
        """Runs left RUNNING or QUEUED by a process that died start again, in order."""
        async with self.db.sessions() as session:
            runs = await runs_with_status(session, [RunStatus.RUNNING, RunStatus.QUEUED])
        for run in runs:
            logger.info("resuming run %s left %s by an earlier process", run.run_id, run.status)
            self._launch(run.run_id)

    async def transition(
        self, run_id: str, to: RunStatus, from_: Iterable[RunStatus], **fields: Any
    ) -> bool:
        async with self.db.sessions() as session:
            won = await transition_run(session, run_id, to, from_statuses=from_, **fields)
            await session.commit()
        return won

    async def emit_status(self, run_id: str, status: RunStatus, **extra: Any) -> None:
        """The status event of a change made apart from it (cancel and pause announce the
        change only once the run's task has stopped, so no node event comes after)."""
        await self.events.append(run_id, "run.status", {"status": status.value, **extra})

    async def start(
        self,
        run_id: str,
        from_: Iterable[RunStatus],
        *,
        checkpoint_id: str | None = None,
        **fields: Any,
    ) -> RunStatus | None:
        """Claim the run (RUNNING, or QUEUED when no slot is free) and launch it.

        Returns the new status, or None when the run was not in one of `from_`.
        """
        status = RunStatus.QUEUED if self.slots.locked() else RunStatus.RUNNING
        from_ = list(from_)
        started = func.coalesce(Run.started_at, utcnow())  # first start only
        if not await change_status(
            self.events, run_id, status, from_, started_at=started, **fields
        ):
            return None
        fresh = from_ == [RunStatus.PENDING]
        self._launch(run_id, checkpoint_id, fresh=fresh, queued=status == RunStatus.QUEUED)
        return status

    async def create_started(self, run: Run, node_ids: list[str]) -> RunStatus:
        """Store a new run already started (RUNNING, or QUEUED when no slot is free) with its
        node states and its first `run.status` event, in one transaction, and launch it."""
        status = RunStatus.QUEUED if self.slots.locked() else RunStatus.RUNNING
        run.status, run.started_at = status.value, utcnow()

        async def insert(session: AsyncSession) -> bool:
            await insert_run(session, run, node_ids)
            return True

        self.events.new_run(run.run_id)
        stored = self.events.post(run.run_id, "run.status", {"status": status.value}, insert)
        # Launched before the insert is stored, and waiting for it: a cancel or pause that
        # comes as soon as the run exists finds its task to stop.
        queued = status == RunStatus.QUEUED
        created = None if queued else run
        self._launch(run.run_id, fresh=True, queued=queued, created=created, stored=stored)
        await asyncio.shield(stored)
        return status

    def _launch(
        self,
        run_id: str,
        checkpoint_id: str | None = None,
        *,
        fresh: bool = False,
        queued: bool = True,
        created: Run | None = None,
        stored: asyncio.Future[Any] | None = None,
    ) -> None:
        """Run it in its own task; `fresh`: it never started (no checkpoint yet); `queued`:
        it may be QUEUED, to become RUNNING once it has a slot; `created`: its row, when
        this process just created it RUNNING; `stored`: the write that stores it, to wait
        for first."""
        coro = self._run(run_id, checkpoint_id, fresh, queued, created, stored)
        task = asyncio.create_task(coro, name=f"run-{run_id}")
        self.active[run_id] = task

        def forget(done: asyncio.Task[None]) -> None:
            if self.active.get(run_id) is done:
                del self.active[run_id]

        task.add_done_callback(forget)

    @contextlib.asynccontextmanager
    async def _slot(self, run_id: str, queued: bool) -> AsyncIterator[None]:
        async with self.slots:
            if queued:
                await change_status(self.events, run_id, RunStatus.RUNNING, [RunStatus.QUEUED])
            yield

    async def _run(
        self,
        run_id: str,
        checkpoint_id: str | None,
        fresh: bool,
        queued: bool,
        created: Run | None = None,
        stored: asyncio.Future[Any] | None = None,
    ) -> None:
        if stored is not None:
            try:
                await asyncio.shield(stored)
            except Exception:
                return  # not stored: the create request reports the error
        try:
            async with self._slot(run_id, queued):
                await self.passes.run(run_id, checkpoint_id, fresh=fresh, created=created)
        except asyncio.CancelledError:
            raise
        except Exception:
            logger.exception("run %s failed inside the server", run_id)
            await self.passes.fail(
                run_id,
                {
                    "code": "internal_error",
                    "node_id": None,
                    "message": "the server failed while running this run",
                },
            )

    async def _stop_task(self, run_id: str) -> None:
        task = self.active.get(run_id)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task], timeout=STOP_WAIT_SECONDS)

    async def cancel(self, run_id: str) -> bool:
        """Stop the run for good; in-flight nodes become CANCELLED. False if already terminal."""
        if not await self.transition(
            run_id, RunStatus.CANCELLED, CANCELLABLE, finished_at=utcnow()
        ):
            return False
        await self._stop_task(run_id)
        await self.passes.stopped(run_id, cancelled=True)
        await self.emit_status(run_id, RunStatus.CANCELLED)
        return True

    async def pause(self, run_id: str) -> str | bool | None:
        """Stop the run at once, to resume later; returns its last checkpoint id (False if
        the run was not RUNNING or QUEUED)."""
        if not await self.transition(
            run_id, RunStatus.PAUSED, [RunStatus.RUNNING, RunStatus.QUEUED], paused_at=utcnow()
        ):
            return False
        await self._stop_task(run_id)
        checkpoint_id = await self.passes.stopped(run_id, cancelled=False)
        await self.emit_status(run_id, RunStatus.PAUSED, checkpoint_id=checkpoint_id)
        return checkpoint_id

    async def after_decision(self, run_id: str) -> None:
        """A gate was decided: continue the run if it waits. A run that is still RUNNING
        (other branches at work) picks the decision up when its pass ends: the pass sets
        WAITING first and looks for decisions after, so one side always sees the other."""
        await self.start(run_id, [RunStatus.WAITING])

    async def wait_settled(self, run_id: str, timeout: float, status: str | None = None) -> None:
        """Return once the run is terminal, WAITING or PAUSED, or `timeout` has passed.

        `status`: the run's status as the caller just set it, with no await since (so no
        event of a later change can have been missed); else it is read first."""
        sub = self.events.subscribe(run_id)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            if status is None:
                status = await self._status(run_id)
            while status is not None and status not in SETTLED:
                left = deadline - loop.time()
                if left <= 0:
                    return
                try:
                    async with asyncio.timeout(min(left, 1.0)):
                        event = await sub.queue.get()
                        while event["type"] != "run.status":
                            event = await sub.queue.get()
                    status = event["status"]
                except TimeoutError:  # read it: another process may have changed it
                    status = await self._status(run_id)
        finally:
            self.events.unsubscribe(run_id, sub)

    async def _status(self, run_id: str) -> str | None:
        async with self.db.sessions() as session:
            run = await load_run(session, run_id)
        return run.status if run is not None else None

    async def _sweep_retries(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            try:
                async with self.db.sessions() as session:
                    due = await due_retries(session)
                for run in due:
                    await self.start(run.run_id, [RunStatus.RETRY_SCHEDULED])
            except Exception:
                logger.exception("retry sweep failed")
