"""`tool_call`: invoke a registered LangChain tool with the node's resolved inputs."""

from __future__ import annotations

from typing import Any

from graphs.errors import HardError
from graphs.nodes.base import NodeContext, to_jsonable
from graphs.tools import invoke_tool, progress_reporting


async def run_tool_call(ctx: NodeContext) -> Any:
    name = ctx.node.tool or ""
    tool = ctx.registry.tools.get(name)
    if tool is None:
        raise HardError(f"no tool named {name!r} is registered", code="unknown_tool")
    inputs = ctx.resolve(ctx.node.inputs)
    with progress_reporting(lambda data: ctx.emit("node.progress", {"data": to_jsonable(data)})):
        return to_jsonable(await invoke_tool(tool, inputs))
