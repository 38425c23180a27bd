"""Compile a validated WorkflowSpec into a LangGraph StateGraph, one graph per version.

Every node of the definition becomes one LangGraph node that always runs once its
predecessors are done; a node on a path that a `condition` did not take marks itself
`SKIPPED` instead of working (dead-path elimination). That is what lets a `join`
(`add_edge([a, b], join)`) fire exactly once even when some of its branches were skipped.
Each node writes only its own state key (`n:<id>`), so a checkpoint stores just what changed.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass
from typing import Any, TypedDict

import jsonschema
from langgraph.checkpoint.base import BaseCheckpointSaver
from langgraph.graph import END, START, StateGraph
from langgraph.pregel import Pregel

from graphs.bindings import resolve
from graphs.nodes.base import node_key, state_scope
from graphs.nodes.human_gate import decide_node_name
from graphs.registry import Registry
from graphs.runtime_node import NodeRunner
from graphs.spec import EdgeSpec, WorkflowSpec

OUTPUT_NODE = "__output__"
OUTPUT_KEY = "output"  # the state key the output node writes, and only it


@dataclass(frozen=True)
class CompiledWorkflow:
    """A compiled graph plus what a runner needs to start it and read its state."""

    spec: WorkflowSpec
    graph: Pregel[Any, Any, Any, Any]

    def initial_state(self, run_input: dict[str, Any] | None) -> dict[str, Any]:
        data = dict(run_input or {})
        return {"input": data, "context": {**self.spec.context, **data}}

    def node_records(self, values: dict[str, Any]) -> dict[str, dict[str, Any]]:
        """Each node's record (status, output, error, attempts ...) found in a state."""
        return {
            n.id: values[node_key(n.id)]
            for n in self.spec.nodes
            if isinstance(values.get(node_key(n.id)), dict)
        }


def input_errors(spec: WorkflowSpec, run_input: Any) -> list[str]:
    """Why `run_input` fails the workflow's input_schema (empty when it passes)."""
    if not isinstance(run_input, dict):
        return ["the run input must be a JSON object"]
    if spec.input_schema is None:
        return []
    validator = jsonschema.validators.validator_for(spec.input_schema)(spec.input_schema)
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
        for e in sorted(validator.iter_errors(run_input), key=lambda e: list(e.absolute_path))
    ]


def build_state_type(spec: WorkflowSpec) -> type:
    fields: dict[str, Any] = {"input": dict, "context": dict, OUTPUT_KEY: Any}
    for node in spec.nodes:
        fields[node_key(node.id)] = dict
    # A TypedDict made at run time: one key per node, so each node writes only its own.
    state: type = TypedDict(f"State_{spec.id.replace('-', '_')}", fields, total=False)  # type: ignore[misc]
    return state


def compile_workflow(
    spec: WorkflowSpec, registry: Registry, checkpointer: BaseCheckpointSaver[Any] | None = None
) -> CompiledWorkflow:
    """Build the StateGraph for a valid spec and compile it with `checkpointer`."""
    builder: StateGraph[Any] = StateGraph(build_state_type(spec))
    incoming: dict[str, list[EdgeSpec]] = {n.id: [] for n in spec.nodes}
    outgoing: dict[str, list[EdgeSpec]] = {n.id: [] for n in spec.nodes}
    for edge in spec.edges:
        incoming[edge.target].append(edge)
        outgoing[edge.source].append(edge)
    exits: dict[str, str] = {}  # the LangGraph node after which a definition node is done
    for node in spec.nodes:
        runner = NodeRunner(node, spec.settings, registry, incoming[node.id], outgoing[node.id])
        builder.add_node(node.id, runner)  # type: ignore[type-var]  # state is a runtime TypedDict
        exits[node.id] = node.id
        if node.type == "human_gate":
            exits[node.id] = decide_node_name(node.id)
            builder.add_node(exits[node.id], runner.decide, defer=True)  # type: ignore[type-var]
            builder.add_edge(node.id, exits[node.id])
    for node in spec.nodes:
        _wire(builder, node.id, [exits[e.source] for e in incoming[node.id]])
    sinks = [exits[n] for n, outs in outgoing.items() if not outs]
    builder.add_node(
        OUTPUT_NODE, _output_node(spec, [n for n, outs in outgoing.items() if not outs])
    )
    _wire(builder, OUTPUT_NODE, sinks)
    builder.add_edge(OUTPUT_NODE, END)
    return CompiledWorkflow(spec, builder.compile(checkpointer=checkpointer, name=spec.id))


def _wire(builder: StateGraph[Any], target: str, sources: list[str]) -> None:
    """Run `target` once all `sources` are done (a list edge waits for every one)."""
    if not sources:
        builder.add_edge(START, target)
    elif len(sources) == 1:
        builder.add_edge(sources[0], target)
    else:
        builder.add_edge(sources, target)


def _output_node(spec: WorkflowSpec, sinks: list[str]) -> Any:
    async def output(state: dict[str, Any]) -> dict[str, Any]:
        if spec.output is not None:
            return {OUTPUT_KEY: resolve(spec.output, state_scope(state))}
        result: dict[str, Any] = {}
        for sink in sinks:
            record = state.get(node_key(sink)) or {}
            if record.get("status") == "COMPLETED":
                result[sink] = record.get("output")
        return {OUTPUT_KEY: result}

    return output


class GraphCache:
    """Compiled graphs by key (e.g. project, workflow id, version), least recently used out.

    A compiled graph is safe to share between concurrent runs, so each version is built once.
    """

    def __init__(
        self, registry: Registry, checkpointer: BaseCheckpointSaver[Any] | None, size: int = 256
    ) -> None:
        self.registry = registry
        self.checkpointer = checkpointer
        self.size = size
        self._items: OrderedDict[Hashable, CompiledWorkflow] = OrderedDict()

    def cached(self, key: Hashable) -> CompiledWorkflow | None:
        """The compiled graph for `key` if it was built already."""
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
        return found

    def get(self, key: Hashable, spec: WorkflowSpec) -> CompiledWorkflow:
        found = self._items.get(key)
        if found is None:
            found = compile_workflow(spec, self.registry, self.checkpointer)
            self._items[key] = found
            if len(self._items) > self.size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(key)
        return found
