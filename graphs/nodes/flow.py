"""Flow nodes: `condition` picks branches, `parallel` fans out, `join` gathers."""

from __future__ import annotations

from typing import Any

from graphs.errors import HardError
from graphs.expressions import ExpressionError, compile_expression
from graphs.nodes.base import NodeContext, state_scope


def same_value(a: Any, b: Any) -> bool:
    """Equality that does not confuse `true` with `1`."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)


async def run_condition(ctx: NodeContext) -> Any:
    try:
        value = compile_expression(ctx.node.expression).evaluate(state_scope(ctx.state))
    except ExpressionError as exc:
        raise HardError(str(exc), code="expression_error") from exc
    edges = ctx.out_edges
    taken = [e.target for e in edges if e.has_when and same_value(e.when, value)]
    if not taken:
        taken = [e.target for e in edges if e.default]
    ctx.extra["branches"] = taken
    return {"value": value, "branches": taken}


async def run_parallel(ctx: NodeContext) -> Any:
    return {"branches": list(ctx.targets)}


async def run_join(ctx: NodeContext) -> Any:
    out: dict[str, Any] = {}
    for source in ctx.sources:
        record = ctx.record(source)
        if record.get("status") != "SKIPPED":
            out[source] = record.get("output")
    return out
