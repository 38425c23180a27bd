"""`human_gate`: opened at once, decided by a person through `interrupt()`.

A gate is two LangGraph nodes. The first opens it: it records the gate as WAITING with its
payload (so a server can show and accept a decision at once). The second, deferred until
no other branch has work left, calls `interrupt()` and turns the decision into the
output. So other branches go on while a gate waits. LangGraph runs the deferred node's code
before `interrupt()` again on every resume, so it has no side effects.
"""

from __future__ import annotations

from typing import Any

from graphs.errors import HardError
from graphs.nodes.base import NodeContext

DECISIONS = ("approve", "reject")
DECIDE_PREFIX = "__gate__"


def decide_node_name(node_id: str) -> str:
    """The LangGraph node that waits for the decision of gate `node_id`."""
    return DECIDE_PREFIX + node_id


async def gate_payload(ctx: NodeContext) -> Any:
    prompt = ctx.resolve(ctx.node.prompt) if ctx.node.prompt else None
    return {
        "gate_id": ctx.node.id,
        "node_id": ctx.node.id,
        "prompt": prompt,
        "inputs": ctx.resolve(ctx.node.inputs),
    }


def decision_output(node_id: str, on_reject: str, answer: Any) -> dict[str, Any]:
    """The gate's output for a decision; raises HardError for a rejection that fails."""
    if not isinstance(answer, dict) or answer.get("decision") not in DECISIONS:
        raise HardError(f"gate {node_id!r} was resumed without a decision", code="invalid_decision")
    output = {
        "decision": answer["decision"],
        "comment": answer.get("comment"),
        "data": answer.get("data"),
        "decided_by": answer.get("decided_by"),
    }
    if output["decision"] == "reject" and on_reject == "fail":
        raise HardError(f"gate {node_id!r} was rejected", code="gate_rejected")
    return output
