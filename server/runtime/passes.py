"""One run's execution: load its pinned workflow, pick what to feed the graph (the input,
nothing, or gate decisions), drive it, and record how the pass ended."""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from typing import Any

from langgraph.types import Command
from sqlalchemy.ext.asyncio import AsyncSession

from graphs.compile import CompiledWorkflow, GraphCache
from graphs.runner import (
    RunResult,
    drive,
    has_work_left,
    pending_gates,
    record_event,
    run_config,
    settle,
)
from graphs.validate import validate_definition
from server.crud.runs import (
    init_node_states,
    list_node_states,
    load_run,
    update_run,
)
from server.crud.workflows import get_workflow
from server.db.engine import Database
from server.db.models import Run
from server.db.types import utcnow
from server.runtime.effects import (
    change_status,
    decided_resumes,
    record_gates,
    stop_in_flight,
    total_usage,
)
from server.runtime.eventlog import EventLog
from server.settings import Settings
from server.statuses import NodeStatus, RunStatus

logger = logging.getLogger("graphyard.executor")
_RUNNING = [RunStatus.RUNNING]
ENDED_EVENTS = {
    "node.completed": NodeStatus.COMPLETED.value,
    "node.skipped": NodeStatus.SKIPPED.value,
    "node.failed": NodeStatus.FAILED.value,
}


def _progress(workflow: CompiledWorkflow, ended: dict[str, str]) -> dict[str, Any]:
    """The run's progress column: the share of its nodes that ended (done, skipped, failed)."""
    return {"progress": len(ended) / max(1, len(workflow.spec.nodes))}


class RunPasses:
    """Executes runs pass by pass; a pass ends when the graph stops (done, failed, gates)."""

    def __init__(
        self, settings: Settings, db: Database, cache: GraphCache, events: EventLog
    ) -> None:
        self.settings = settings
        self.db = db
        self.cache = cache
        self.events = events

    async def workflow(self, session: AsyncSession, run: Run) -> CompiledWorkflow:
        """The compiled graph of the version the run is pinned to (built once per version)."""
        return await self.compiled(session, run.project_id, run.workflow_id, run.workflow_version)

    async def compiled(
        self, session: AsyncSession, project_id: str, workflow_id: str, version: int
    ) -> CompiledWorkflow:
        """The compiled graph of one workflow version (built once per version)."""
        key = (project_id, workflow_id, version)
        found = self.cache.cached(key)
        if found is not None:
            return found
        _, row = await get_workflow(session, project_id, workflow_id, version, include_deleted=True)
        result = validate_definition(row.definition, self.cache.registry)
        if result.spec is None:
            problems = "; ".join(f"{i.path}: {i.message}" for i in result.issues[:3])
            raise ValueError(f"workflow version no longer valid here: {problems}")
        return self.cache.get(key, result.spec)

    async def run(
        self,
        run_id: str,
        checkpoint_id: str | None = None,
        *,
        fresh: bool = False,
        created: Run | None = None,
    ) -> None:
        """Passes until the run stops being RUNNING; `fresh`: it has no checkpoint yet;
        `created`: the row of a run this process just created RUNNING (no need to read it)."""
        first = True
        while True:
            loaded: tuple[Run, CompiledWorkflow, dict[str, str]] | str | None = None
            if first and fresh and created is not None:
                loaded = self._created(created)
            if loaded is None:
                loaded = await self._load(run_id, first, fresh)
            if loaded is None:
                return
            if isinstance(loaded, str):
                error = {"code": "invalid_workflow", "message": loaded, "node_id": None}
                await self.fail(run_id, error)
                return
            run, workflow, ended = loaded
            result = await self._pass(workflow, run, checkpoint_id, ended, fresh=fresh and first)
            first, checkpoint_id = False, None
            if not await self._finish(workflow, run, result):
                return

    def _created(self, run: Run) -> tuple[Run, CompiledWorkflow, dict[str, str]] | None:
        """A run created RUNNING by this process a moment ago: its graph was just compiled
        (the create request checked the input against it), and none of its nodes ended.
        Its task existed before the run was stored, so a cancel or pause since then stops
        the task: its status needs no re-reading."""
        workflow = self.cache.cached((run.project_id, run.workflow_id, run.workflow_version))
        return None if workflow is None else (run, workflow, {})

    async def _load(
        self, run_id: str, first: bool, fresh: bool
    ) -> tuple[Run, CompiledWorkflow, dict[str, str]] | str | None:
        """The RUNNING run, its graph and its nodes that already ended; None when it is not
        RUNNING, a message when its workflow version cannot run here. A fresh run got its
        node states when it was created and has none that ended."""
        async with self.db.sessions() as session:
            run = await load_run(session, run_id)
            if run is None or run.status != RunStatus.RUNNING:
                return None
            try:
                workflow = await self.workflow(session, run)
            except (ValueError, LookupError) as exc:
                return str(exc)
            if fresh and first:
                return run, workflow, {}
            if first:
                await init_node_states(session, run_id, [n.id for n in workflow.spec.nodes])
                await session.commit()
            ended = {
                s.node_id: s.status
                for s in await list_node_states(session, run_id)
                if s.status in ENDED_EVENTS.values()
            }
        return run, workflow, ended

    async def _payload(
        self, workflow: CompiledWorkflow, run: Run, ended: dict[str, str]
    ) -> tuple[bool, Any]:
        """(drive?, payload): the input for a new run, decisions for gates, or None."""
        snapshot = await workflow.graph.aget_state(run_config(run.run_id))
        if not snapshot.values:
            return True, workflow.initial_state(run.input)
        await self._announce_missed(workflow, run.run_id, snapshot.values, ended)
        gates = pending_gates(snapshot)
        if gates:
            async with self.db.sessions() as session:
                resumes = await decided_resumes(session, run.run_id, gates)
            return bool(resumes), Command(resume=resumes)
        return has_work_left(snapshot), None

    async def _announce_missed(
        self,
        workflow: CompiledWorkflow,
        run_id: str,
        values: dict[str, Any],
        ended: dict[str, str],
    ) -> None:
        """Send the end events of nodes the checkpoint has finished but the log has not: a
        process killed between a step's checkpoint and its events left them out."""
        for node_id, record in workflow.node_records(values).items():
            event = record_event(node_id, record)
            status = ENDED_EVENTS.get(event["type"]) if event else None
            if event is None or status is None or ended.get(node_id) == status:
                continue
            ended[node_id] = status
            data = {k: v for k, v in event.items() if k != "type"}
            fields = _progress(workflow, ended)
            await asyncio.shield(self.events.post(run_id, event["type"], data, run_fields=fields))

    async def _pass(
        self,
        workflow: CompiledWorkflow,
        run: Run,
        checkpoint_id: str | None,
        ended: dict[str, str],
        *,
        fresh: bool = False,
    ) -> RunResult:
        if fresh:
            go, payload = True, workflow.initial_state(run.input)
        elif checkpoint_id is not None:
            go, payload = True, None
        else:
            go, payload = await self._payload(workflow, run, ended)
        if not go:
            return await settle(workflow, run.run_id)

        pending: list[asyncio.Future[dict[str, Any] | None]] = []

        async def on_event(event: dict[str, Any]) -> None:
            # Queued, not awaited: the writer stores events in batches while the graph
            # goes on. The pass waits for all of them before it records how it ended.
            status = ENDED_EVENTS.get(event["type"])
            if event["type"] == "node.started":
                ended.pop(event["node_id"], None)  # runs again (retry, resume): may end again
            elif status is not None:
                # On resume LangGraph replays the saved writes of a step's finished nodes;
                # a node whose end is already recorded is not announced twice.
                if ended.get(event["node_id"]) == status:
                    return
                ended[event["node_id"]] = status
            data = {k: v for k, v in event.items() if k != "type"}
            fields = _progress(workflow, ended) if status is not None else None
            pending.append(self.events.post(run.run_id, event["type"], data, run_fields=fields))

        try:
            return await drive(
                workflow,
                run.run_id,
                payload,
                on_event,
                timeout=workflow.spec.settings.max_execution_time_seconds,
                checkpoint_id=checkpoint_id,
            )
        finally:
            if pending:
                await asyncio.shield(asyncio.gather(*pending, return_exceptions=True))

    async def _usage(
        self, workflow: CompiledWorkflow, run_id: str, result: RunResult
    ) -> dict[str, Any]:
        records = result.records
        if not records:  # a failed pass does not read its state back; do it here
            snapshot = await workflow.graph.aget_state(run_config(run_id))
            records = workflow.node_records(snapshot.values)
        return total_usage(records)

    async def _finish(self, workflow: CompiledWorkflow, run: Run, result: RunResult) -> bool:
        """Record how the pass ended; True when decisions already wait for another pass."""
        usage = await self._usage(workflow, run.run_id, result)
        if result.status == "COMPLETED":
            await self._end(
                run.run_id,
                RunStatus.COMPLETED,
                output=result.output,
                usage=usage,
                progress=1.0,
                error=None,
                finished_at=utcnow(),
            )
            return False
        if result.status == "FAILED":
            await self._failed(run, result, usage)
            return False
        async with self.db.sessions() as session:
            fresh = await record_gates(session, run.run_id, result.gates)
            await session.commit()
        for gate in fresh:
            await self.events.append(
                run.run_id,
                "gate.waiting",
                {"gate_id": gate.gate_id, "node_id": gate.node_id, "payload": gate.payload},
            )
        await self._end(run.run_id, RunStatus.WAITING, usage=usage)
        async with self.db.sessions() as session:
            decided = await decided_resumes(session, run.run_id, result.gates)
        return bool(decided) and await change_status(
            self.events, run.run_id, RunStatus.RUNNING, [RunStatus.WAITING]
        )

    async def _failed(self, run: Run, result: RunResult, usage: dict[str, Any]) -> None:
        error = result.error or {"code": "failed", "message": "the run failed", "node_id": None}
        again = result.retryable and run.retry_count < self.settings.max_run_retries
        # Nodes still at work when the pass failed (siblings of the failed node, or the one
        # the run's time limit stopped) were stopped with it: they run again on a retry.
        async with self.db.sessions() as session:
            await stop_in_flight(
                session, run.run_id, NodeStatus.PENDING if again else NodeStatus.CANCELLED
            )
            await session.commit()
        if again:
            delay = self.settings.retry_base_seconds * 2**run.retry_count
            when = utcnow() + timedelta(seconds=delay)
            extra = {"error": error, "next_retry_at": when.isoformat(), "delay_seconds": delay}
            await change_status(
                self.events,
                run.run_id,
                RunStatus.RETRY_SCHEDULED,
                _RUNNING,
                extra,
                error=error,
                usage=usage,
                retry_count=run.retry_count + 1,
                next_retry_at=when,
            )
            return
        await self._end(
            run.run_id, RunStatus.FAILED, error=error, usage=usage, finished_at=utcnow()
        )

    async def _end(self, run_id: str, to: RunStatus, **fields: Any) -> None:
        extra = {"error": fields["error"]} if fields.get("error") else {}
        await change_status(self.events, run_id, to, _RUNNING, extra, **fields)

    async def fail(self, run_id: str, error: dict[str, Any]) -> None:
        """End a run as FAILED for a reason outside its nodes (server error, bad version)."""
        await self._end(run_id, RunStatus.FAILED, error=error, finished_at=utcnow())

    async def stopped(self, run_id: str, *, cancelled: bool) -> str | None:
        """After a cancel or pause: fix in-flight node states; returns the last checkpoint id."""
        async with self.db.sessions() as session:
            await stop_in_flight(
                session, run_id, NodeStatus.CANCELLED if cancelled else NodeStatus.PENDING
            )
            run = await load_run(session, run_id)
            checkpoint_id = None
            if run is not None and not cancelled:
                saved = (
                    await self.cache.checkpointer.aget_tuple(run_config(run_id))
                    if self.cache.checkpointer is not None
                    else None
                )
                checkpoint_id = saved.config["configurable"].get("checkpoint_id") if saved else None
                await update_run(session, run_id, checkpoint_id=checkpoint_id)
            await session.commit()
        return checkpoint_id
