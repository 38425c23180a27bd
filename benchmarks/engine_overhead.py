"""Engine overhead: a 10-node chain compiled by Graphyard vs the same chain hand-written as a
StateGraph, both on the same kind of SQLite checkpointer with the same durability.

    python -m benchmarks.engine_overhead [--runs 200] [--nodes 10]

Three figures: Graphyard; raw nodes that call the same LangChain tool (the same work);
raw nodes that do nothing (LangGraph's floor). Ratios are Graphyard / raw.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, TypedDict

from langgraph.graph import END, START, StateGraph

from checkpoints import DURABILITY, open_checkpointer
from graphs.compile import compile_workflow
from graphs.registry import Registry
from graphs.spec import WorkflowSpec
from graphs.tools import echo


def chain_spec(n: int) -> WorkflowSpec:
    steps = [{"id": "s0", "type": "tool_call", "tool": "echo", "inputs": {"value": "$input.x"}}]
    steps += [
        {"id": f"s{i}", "type": "tool_call", "tool": "echo", "inputs": {"value": f"$s{i - 1}"}}
        for i in range(1, n)
    ]
    return WorkflowSpec.model_validate({"id": "chain", "steps": steps})


def raw_chain(n: int, call_tool: bool, checkpointer: Any) -> Any:
    state = TypedDict("RawState", {"x": Any, **{f"s{i}": Any for i in range(n)}}, total=False)  # type: ignore[misc]
    builder: StateGraph[Any] = StateGraph(state)

    def make(i: int) -> Any:
        prev = "x" if i == 0 else f"s{i - 1}"

        async def node(s: dict[str, Any]) -> dict[str, Any]:
            value = await echo.ainvoke({"value": s.get(prev)}) if call_tool else s.get(prev)
            return {f"s{i}": value}

        return node

    for i in range(n):
        builder.add_node(f"s{i}", make(i))
    builder.add_edge(START, "s0")
    for i in range(1, n):
        builder.add_edge(f"s{i - 1}", f"s{i}")
    builder.add_edge(f"s{n - 1}", END)
    return builder.compile(checkpointer=checkpointer)


async def time_runs(invoke: Any, make_input: Any, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        config = {"configurable": {"thread_id": str(uuid.uuid4())}}
        start = time.perf_counter()
        await invoke(make_input(), config, durability=DURABILITY)
        samples.append(time.perf_counter() - start)
    return samples


async def measure(runs: int, nodes: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        results: dict[str, float] = {}
        async with open_checkpointer(str(Path(tmp) / "cp.sqlite")) as saver:
            workflow = compile_workflow(chain_spec(nodes), Registry.from_settings(), saver)
            graphs = {
                "graphyard": (workflow.graph, lambda: workflow.initial_state({"x": 1})),
                "raw_same_tool": (raw_chain(nodes, True, saver), lambda: {"x": 1}),
                "raw_trivial": (raw_chain(nodes, False, saver), lambda: {"x": 1}),
            }
            for graph, make_input in graphs.values():  # warm up every graph first
                await time_runs(graph.ainvoke, make_input, 20)
            for _ in range(5):  # interleave rounds so drift hits every variant alike
                for name, (graph, make_input) in graphs.items():
                    samples = await time_runs(graph.ainvoke, make_input, max(runs // 5, 1))
                    results.setdefault(name, 0.0)
                    results[name] += statistics.median(samples) / 5
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=150)
    parser.add_argument("--nodes", type=int, default=10)
    args = parser.parse_args()
    res = asyncio.run(measure(args.runs, args.nodes))
    print(f"| {args.nodes}-node chain, median of {args.runs} runs | ms/run | Graphyard / this |")
    print("|---|---:|---:|")
    for name, value in res.items():
        print(f"| {name} | {value * 1000:.2f} | {res['graphyard'] / value:.2f}x |")


if __name__ == "__main__":
    main()
