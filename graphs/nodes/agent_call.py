"""`agent_call`: an inline chat model, or an agent graph from langgraph.json run as a subgraph."""

from __future__ import annotations

from typing import Any

from langchain_core.messages import AIMessageChunk, BaseMessage, HumanMessage, SystemMessage

from graphs.agents import AgentUnavailable
from graphs.bindings import as_text
from graphs.errors import HardError
from graphs.models import ModelUnavailable
from graphs.nodes.base import NodeContext, to_jsonable


async def run_agent_call(ctx: NodeContext) -> Any:
    if ctx.node.agent is not None:
        return await _run_agent_graph(ctx, ctx.node.agent)
    return await _run_model(ctx, ctx.node.model or "")


def _count_usage(ctx: NodeContext, chunk: AIMessageChunk) -> None:
    usage = chunk.usage_metadata
    if usage:
        ctx.add_usage(usage.get("input_tokens", 0), usage.get("output_tokens", 0))


async def _run_model(ctx: NodeContext, spec: str) -> Any:
    try:
        model = ctx.registry.model(spec)
    except ModelUnavailable as exc:
        raise HardError(str(exc), code="model_unavailable") from exc
    messages: list[BaseMessage] = []
    if ctx.node.system:
        messages.append(SystemMessage(as_text(ctx.resolve(ctx.node.system))))
    messages.append(HumanMessage(as_text(ctx.resolve(ctx.node.prompt or ""))))
    parts: list[str] = []
    async for chunk in model.astream(messages):
        if chunk.text:
            parts.append(chunk.text)
            ctx.emit("message.delta", {"text": chunk.text})
        _count_usage(ctx, chunk)
    return {"text": "".join(parts), "model": spec}


async def _run_agent_graph(ctx: NodeContext, name: str) -> Any:
    try:
        graph = ctx.registry.agents.graph(name)
    except AgentUnavailable as exc:
        raise HardError(str(exc), code="unknown_agent") from exc
    final: Any = None
    async for mode, chunk in graph.astream(
        ctx.resolve(ctx.node.inputs), stream_mode=["messages", "values"]
    ):
        if mode == "values":
            final = chunk
            continue
        message = chunk[0]
        if isinstance(message, AIMessageChunk):
            if message.text:
                ctx.emit("message.delta", {"text": message.text})
            _count_usage(ctx, message)
    return _agent_output(final)


def _agent_output(state: Any) -> Any:
    if not isinstance(state, dict):
        return to_jsonable(state)
    out = {key: to_jsonable(value) for key, value in state.items()}
    messages = state.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[-1], BaseMessage):
        out["text"] = messages[-1].text
    return out
