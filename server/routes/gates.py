"""Human gates of a run: list them, decide one (API.md section 3, human gates)."""

from __future__ import annotations

from fastapi import APIRouter

from server.auth import Approver, Viewer
from server.crud.gates import decide_gate, get_gate, list_gates
from server.crud.runs import get_run
from server.deps import SessionDep
from server.errors import Conflict, NotFound
from server.runtime.deps import ExecutorDep
from server.schemas.common import error_responses
from server.schemas.runs import DecisionRequest, GateList, GateOut
from server.statuses import TERMINAL_RUN_STATUSES

router = APIRouter(prefix="/api/projects/{pid}/workflows/runs/{rid}/gates", tags=["gates"])


@router.get("", responses=error_responses(403, 404))
async def list_(pid: str, rid: str, session: SessionDep, _: Viewer) -> GateList:
    """The run's gates: waiting ones and decided ones."""
    await get_run(session, pid, rid)
    return GateList(items=[GateOut.model_validate(g) for g in await list_gates(session, rid)])


@router.post("/{gate_id}/decision", responses=error_responses(400, 403, 404, 409, 413))
async def decide(
    pid: str,
    rid: str,
    gate_id: str,
    body: DecisionRequest,
    session: SessionDep,
    executor: ExecutorDep,
    who: Approver,
) -> GateOut:
    """Approve or reject a WAITING gate; the run continues from its checkpoint."""
    run = await get_run(session, pid, rid)
    if await get_gate(session, rid, gate_id) is None:
        raise NotFound(f"run has no gate '{gate_id}'", details={"gate_id": gate_id})
    if run.status in TERMINAL_RUN_STATUSES:
        raise Conflict(f"run is {run.status}; its gates can no longer be decided")
    gate = await decide_gate(
        session,
        rid,
        gate_id,
        approve=body.decision == "approve",
        decided_by=who.actor,
        comment=body.comment,
        data=body.data,
    )
    if gate is None:
        raise Conflict(f"gate '{gate_id}' is not WAITING", details={"gate_id": gate_id})
    await session.commit()
    await executor.events.append(
        rid,
        "gate.decided",
        {"gate_id": gate_id, "decision": body.decision, "decided_by": who.actor},
    )
    await executor.after_decision(rid)
    return GateOut.model_validate(gate)
