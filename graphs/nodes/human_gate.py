"""`human_gate`: stop the branch with `interrupt()` until a person decides.

LangGraph runs the code before `interrupt()` again on every resume, so nothing here has
side effects; the `gate.waiting` event is sent by the runner, not by this node.
"""

from __future__ import annotations

from typing import Any

from langgraph.types import interrupt

from graphs.errors import HardError
from graphs.nodes.base import NodeContext

DECISIONS = ("approve", "reject")


def gate_payload(ctx: NodeContext) -> dict[str, Any]:
    prompt = ctx.resolve(ctx.node.prompt) if ctx.node.prompt else None
    return {
        "gate_id": ctx.node.id,
        "node_id": ctx.node.id,
        "prompt": prompt,
        "inputs": ctx.resolve(ctx.node.inputs),
    }


async def run_human_gate(ctx: NodeContext) -> Any:
    answer = interrupt(gate_payload(ctx))
    if not isinstance(answer, dict) or answer.get("decision") not in DECISIONS:
        raise HardError(f"gate {ctx.node.id!r} was resumed without a decision", code="invalid_decision")
    output = {
        "decision": answer["decision"],
        "comment": answer.get("comment"),
        "data": answer.get("data"),
        "decided_by": answer.get("decided_by"),
    }
    if output["decision"] == "reject" and ctx.node.on_reject == "fail":
        raise HardError(f"gate {ctx.node.id!r} was rejected", code="gate_rejected")
    return output
