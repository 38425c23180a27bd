"""Graph shape helpers: cycles, execution levels, and a view with a Mermaid diagram."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphs.spec import WorkflowSpec


def find_cycles(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Each cycle as the list of its nodes (strongly connected parts, and self-loops)."""
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for s, t in edges:
        succ.setdefault(s, []).append(t)
        succ.setdefault(t, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for root in succ:
        if root in index:
            continue
        work: list[tuple[str, int]] = [(root, 0)]
        while work:  # iterative Tarjan: deep graphs must not hit the recursion limit
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            if i < len(succ[node]):
                work.append((node, i + 1))
                nxt = succ[node][i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                part: list[str] = []
                while True:
                    top = stack.pop()
                    on_stack.discard(top)
                    part.append(top)
                    if top == node:
                        break
                if len(part) > 1 or node in succ[node]:
                    cycles.append(_cycle_order(part[::-1], succ))
    return cycles


def _cycle_order(part: list[str], succ: dict[str, list[str]]) -> list[str]:
    """Walk the component from its first node so the message reads as a real loop."""
    members = set(part)
    order = [part[0]]
    seen = {part[0]}
    while True:
        nxt = next((n for n in succ[order[-1]] if n in members and n not in seen), None)
        if nxt is None:
            return order
        order.append(nxt)
        seen.add(nxt)


def levels_of(nodes: Sequence[str], edges: Sequence[tuple[str, str]]) -> list[list[str]]:
    """Execution levels of an acyclic graph: a node's level is its longest path from a source."""
    preds: dict[str, list[str]] = {n: [] for n in nodes}
    succ: dict[str, list[str]] = {n: [] for n in nodes}
    for s, t in edges:
        preds[t].append(s)
        succ[s].append(t)
    depth: dict[str, int] = {}
    remaining = {n: len(preds[n]) for n in nodes}
    ready = [n for n in nodes if remaining[n] == 0]
    for n in ready:
        depth[n] = 0
    while ready:
        node = ready.pop(0)
        for t in succ[node]:
            depth[t] = max(depth.get(t, 0), depth[node] + 1)
            remaining[t] -= 1
            if remaining[t] == 0:
                ready.append(t)
    levels: list[list[str]] = [[] for _ in range(max(depth.values(), default=-1) + 1)]
    for n in nodes:
        if n in depth:
            levels[depth[n]].append(n)
    return levels


def graph_view(spec: WorkflowSpec) -> dict[str, Any]:
    """Nodes, edges, levels and a Mermaid flowchart of a valid workflow."""
    edges = [(e.source, e.target) for e in spec.edges]
    lines = ["flowchart TD"]
    shapes = {
        "condition": ("{", "}"),
        "human_gate": ("[/", "/]"),
        "parallel": ("[[", "]]"),
        "join": ("((", "))"),
    }
    for node in spec.nodes:
        left, right = shapes.get(node.type, ("[", "]"))
        label = (node.name or node.id).replace('"', "'")
        lines.append(f'    {_mid(node.id)}{left}"{label}"{right}')
    for e in spec.edges:
        label = "default" if e.default else (repr(e.when) if e.has_when else "")
        arrow = f' -->|"{label}"| ' if label else " --> "
        lines.append(f"    {_mid(e.source)}{arrow}{_mid(e.target)}")
    return {
        "nodes": [
            {"id": n.id, "type": n.type, "name": n.name or n.id, "description": n.description}
            for n in spec.nodes
        ],
        "edges": [
            {
                "from": e.source,
                "to": e.target,
                "when": e.when if e.has_when else None,
                "default": e.default,
            }
            for e in spec.edges
        ],
        "levels": levels_of([n.id for n in spec.nodes], edges),
        "mermaid": "\n".join(lines),
    }


def _mid(node_id: str) -> str:
    return "n_" + node_id.replace("-", "_")
