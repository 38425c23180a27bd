"""Node types: each turns a node spec and the run state into the node's output."""

from __future__ import annotations

from graphs.nodes.agent_call import run_agent_call
from graphs.nodes.base import NodeContext, NodeKind
from graphs.nodes.flow import run_condition, run_join, run_parallel
from graphs.nodes.human_gate import gate_payload
from graphs.nodes.tool_call import run_tool_call

NODE_KINDS: dict[str, NodeKind] = {
    "tool_call": run_tool_call,
    "agent_call": run_agent_call,
    "human_gate": gate_payload,
    "condition": run_condition,
    "parallel": run_parallel,
    "join": run_join,
}

__all__ = ["NODE_KINDS", "NodeContext", "NodeKind"]
