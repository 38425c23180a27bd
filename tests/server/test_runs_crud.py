"""CRUD for the executor: runs, status transitions, node states, gates, the event log."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import httpx
import pytest
from fastapi import FastAPI
from server_testkit import ProjectKeys, create_run, create_workflow
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from server.crud import events, gates, runs
from server.db.types import utcnow
from server.errors import NotFound
from server.statuses import GateStatus, NodeStatus, RunStatus


@pytest.fixture
async def sessions(
    client: httpx.AsyncClient, app: FastAPI, project: ProjectKeys
) -> async_sessionmaker[AsyncSession]:
    await create_workflow(client, project)
    factory: async_sessionmaker[AsyncSession] = app.state.db.sessions
    return factory


async def _new_run(
    sessions: async_sessionmaker[AsyncSession],
    *,
    status: RunStatus = RunStatus.PENDING,
    input: dict[str, object] | None = None,
    version: int = 1,
) -> str:
    async with sessions() as session:
        run = await create_run(
            session,
            project_id="acme",
            workflow_id="flow",
            workflow_version=version,
            input=input,
            status=status,
        )
        await session.commit()
        return run.run_id


async def test_create_and_get_run(sessions: async_sessionmaker[AsyncSession]) -> None:
    run_id = await _new_run(sessions, input={"q": 1})
    async with sessions() as session:
        run = await runs.get_run(session, "acme", run_id)
        assert run.status == RunStatus.PENDING and run.input == {"q": 1}
        assert run.usage == {"input_tokens": 0, "output_tokens": 0, "cost_usd": 0.0}
        assert run.progress == 0.0 and run.created_at.tzinfo is not None
        with pytest.raises(NotFound):
            await runs.get_run(session, "globex", run_id)  # another project's run is not found
        with pytest.raises(NotFound):
            await runs.get_run(session, "acme", "nope")


async def test_run_must_name_a_stored_version(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(Exception, match="FOREIGN KEY"):
        await _new_run(sessions, version=9)


async def test_transition_only_from_expected_statuses(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    run_id = await _new_run(sessions)
    async with sessions() as session:
        started = await runs.transition_run(
            session,
            run_id,
            RunStatus.RUNNING,
            from_statuses=[RunStatus.PENDING, RunStatus.QUEUED],
            started_at=utcnow(),
        )
        again = await runs.transition_run(
            session, run_id, RunStatus.RUNNING, from_statuses=[RunStatus.PENDING]
        )
        await session.commit()
    assert started and not again
    async with sessions() as session:
        run = await runs.get_run(session, "acme", run_id)
        assert run.status == RunStatus.RUNNING and run.started_at is not None


async def test_racing_transitions_have_one_winner(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    run_id = await _new_run(sessions, status=RunStatus.RUNNING)

    async def finish(to: RunStatus) -> bool:
        async with sessions() as session:
            won = await runs.transition_run(
                session, run_id, to, from_statuses=[RunStatus.RUNNING], finished_at=utcnow()
            )
            await session.commit()
            return won

    results = await asyncio.gather(
        *(finish(s) for s in [RunStatus.CANCELLED] * 3 + [RunStatus.COMPLETED] * 3)
    )
    assert results.count(True) == 1


async def test_list_runs_filters_newest_first(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = [await _new_run(sessions) for _ in range(3)]
    async with sessions() as session:
        await runs.update_run(session, ids[0], status=RunStatus.FAILED.value)
        await session.commit()
        page, total = await runs.list_runs(session, "acme")
        assert [r.run_id for r in page] == ids[::-1] and total == 3
        failed, total = await runs.list_runs(session, "acme", status=RunStatus.FAILED)
        assert [r.run_id for r in failed] == [ids[0]] and total == 1
        other, total = await runs.list_runs(session, "acme", workflow_id="other")
        assert other == [] and total == 0
        _, total = await runs.list_runs(session, "globex")
        assert total == 0
        paged, total = await runs.list_runs(session, "acme", limit=1, offset=1)
        assert [r.run_id for r in paged] == [ids[1]] and total == 3
        counts = await runs.count_runs_by_status(session)
        assert counts == {"PENDING": 2, "FAILED": 1}


async def test_list_totals_follow_every_status_change(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The totals come from counters kept by triggers on SQLite; they must match a count of
    the runs themselves after inserts, transitions (won and lost) and direct updates."""
    ids = [await _new_run(sessions) for _ in range(5)]
    async with sessions() as session:
        for run_id in ids[:3]:
            await runs.transition_run(
                session, run_id, RunStatus.RUNNING, from_statuses=[RunStatus.PENDING]
            )
        lost = await runs.transition_run(
            session, ids[0], RunStatus.QUEUED, from_statuses=[RunStatus.PENDING]
        )
        await runs.transition_run(session, ids[0], RunStatus.COMPLETED)
        await runs.update_run(session, ids[1], status=RunStatus.RUNNING.value)  # no change
        await session.commit()
    assert not lost
    expected = {RunStatus.PENDING: 2, RunStatus.RUNNING: 2, RunStatus.COMPLETED: 1}
    async with sessions() as session:
        for status, count in expected.items():
            page, total = await runs.list_runs(session, "acme", status=status)
            assert total == len(page) == count, status
            _, total = await runs.list_runs(session, "acme", workflow_id="flow", status=status)
            assert total == count
        assert (await runs.list_runs(session, "acme"))[1] == 5
        assert (await runs.list_runs(session, "acme", status=RunStatus.FAILED))[1] == 0
        assert await runs.count_runs_by_status(session) == {k.value: v for k, v in expected.items()}


async def test_recovery_and_retry_queries(sessions: async_sessionmaker[AsyncSession]) -> None:
    running = await _new_run(sessions, status=RunStatus.RUNNING)
    due = await _new_run(sessions, status=RunStatus.RETRY_SCHEDULED)
    later = await _new_run(sessions, status=RunStatus.RETRY_SCHEDULED)
    async with sessions() as session:
        await runs.update_run(session, due, next_retry_at=utcnow() - timedelta(seconds=1))
        await runs.update_run(session, later, next_retry_at=utcnow() + timedelta(hours=1))
        await session.commit()
        active = await runs.runs_with_status(session, [RunStatus.RUNNING, RunStatus.QUEUED])
        assert [r.run_id for r in active] == [running]
        assert [r.run_id for r in await runs.due_retries(session)] == [due]
        loaded = await runs.load_run(session, due)
        assert loaded is not None and loaded.next_retry_at is not None
        assert loaded.next_retry_at.tzinfo is not None


async def test_node_states(sessions: async_sessionmaker[AsyncSession]) -> None:
    run_id = await _new_run(sessions)
    async with sessions() as session:
        await runs.init_node_states(session, run_id, ["a", "b", "c"])
        await runs.set_node_state(
            session,
            run_id,
            "a",
            NodeStatus.COMPLETED,
            attempts=1,
            output={"x": 1},
            completed_at=utcnow(),
        )
        await runs.init_node_states(session, run_id, ["a", "b", "c"])  # keeps what is there
        await session.commit()
        states = {s.node_id: s for s in await runs.list_node_states(session, run_id)}
    assert {k: s.status for k, s in states.items()} == {
        "a": "COMPLETED",
        "b": "PENDING",
        "c": "PENDING",
    }
    assert states["a"].output == {"x": 1} and states["a"].attempts == 1


async def test_gates_are_decided_exactly_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    run_id = await _new_run(sessions, status=RunStatus.WAITING)
    async with sessions() as session:
        await gates.open_gate(session, run_id, "review", node_id="review", payload={"p": 1})
        await gates.open_gate(  # a resumed gate node opens it again: still one gate
            session, run_id, "review", node_id="review", payload={"p": 2}, interrupt_id="i1"
        )
        await session.commit()
        (gate,) = await gates.list_gates(session, run_id, GateStatus.WAITING)
        assert gate.payload == {"p": 2} and gate.interrupt_id == "i1"

    async def decide(approve: bool) -> bool:
        async with sessions() as session:
            decided = await gates.decide_gate(
                session,
                run_id,
                "review",
                approve=approve,
                decided_by="key:x",
                comment="ok",
                data={"n": 1},
            )
            await session.commit()
            return decided is not None

    results = await asyncio.gather(*(decide(i % 2 == 0) for i in range(6)))
    assert results.count(True) == 1
    async with sessions() as session:
        final = await gates.get_gate(session, run_id, "review")
        assert final is not None and final.status in ("APPROVED", "REJECTED")
        assert final.decided_by == "key:x" and final.decided_at is not None
        assert await gates.get_gate(session, run_id, "nope") is None
        assert (
            await gates.decide_gate(session, run_id, "nope", approve=True, decided_by="x") is None
        )
        reopened = await gates.open_gate(session, run_id, "review", node_id="review")
        assert reopened.status == final.status  # a decided gate is not reopened


async def test_event_log_has_no_gaps_under_concurrency(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    run_id = await _new_run(sessions)

    async def emit(n: int) -> int:
        async with sessions() as session:
            event = await events.append_event(session, run_id, "node.progress", {"n": n})
            await session.commit()
            return event.seq

    seqs = await asyncio.gather(*(emit(n) for n in range(20)))
    assert sorted(seqs) == list(range(1, 21))
    async with sessions() as session:
        rolled = await events.append_event(session, run_id, "run.status", {"status": "X"})
        assert rolled.seq == 21
        await session.rollback()  # a rolled-back event gives its number back
        kept = await events.append_event(session, run_id, "run.status", {"status": "RUNNING"})
        await session.commit()
        assert kept.seq == 21
        after = await events.list_events(session, run_id, after_seq=18)
        assert [e.seq for e in after] == [19, 20, 21]
        payload = events.event_payload(after[-1])
        assert payload["run_id"] == run_id and payload["seq"] == 21
        assert payload["type"] == "run.status" and payload["status"] == "RUNNING"
        assert payload["ts"].endswith("Z")
        with pytest.raises(NotFound):
            await events.append_event(session, "missing", "run.status")
