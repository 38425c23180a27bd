"""Validation of a raw definition: every issue at once, each with a path, a code and a message."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

import jsonschema
from pydantic import BaseModel, ValidationError

from graphs.bindings import Ref, TemplateError, iter_refs
from graphs.expressions import ExpressionError, compile_expression
from graphs.graphview import find_cycles, levels_of
from graphs.registry import Registry
from graphs.spec import (
    MAX_EDGES,
    MAX_NODES,
    NODE_TYPES,
    RESERVED_NODE_IDS,
    RESERVED_WORKFLOW_IDS,
    EdgeSpec,
    NodeSpec,
    WorkflowSpec,
    json_value_problem,
)

MAX_ISSUES = 500
_TYPE_FIELDS = {
    "tool_call": {"tool"},
    "agent_call": {"agent", "model", "system", "prompt"},
    "human_gate": {"prompt", "on_reject"},
    "condition": {"expression"},
    "parallel": set(),
    "join": set(),
}
_TYPED_FIELDS = set().union(*_TYPE_FIELDS.values())


@dataclass(frozen=True)
class Issue:
    """One problem in a definition: where (`nodes[2].inputs.query`), what kind, and why."""

    path: str
    code: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "code": self.code, "message": self.message}


@dataclass
class ValidationResult:
    """Every issue found, the execution levels, and the parsed spec when there is no issue."""

    issues: list[Issue] = field(default_factory=list)
    levels: list[list[str]] = field(default_factory=list)
    spec: WorkflowSpec | None = None

    @property
    def valid(self) -> bool:
        return not self.issues

    def as_dict(self) -> dict[str, Any]:
        return {
            "valid": self.valid,
            "issues": [i.as_dict() for i in self.issues],
            "levels": self.levels,
        }


def join_path(base: str, loc: Sequence[int | str]) -> str:
    path = base
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


class _Checker:
    def __init__(self, raw: dict[str, Any], registry: Registry | None) -> None:
        self.raw = raw
        self.registry = registry
        self.issues: list[Issue] = []
        self.nodes: dict[str, tuple[str, NodeSpec | None, dict[str, Any]]] = {}
        self.edges: list[tuple[str, EdgeSpec]] = []
        self.refs: list[tuple[str, str | None, Ref]] = []

    def add(self, path: str, code: str, message: str) -> None:
        self.issues.append(Issue(path, code, message))

    def pydantic_issues(self, base: str, exc: ValidationError) -> None:
        for err in exc.errors():
            code = "missing_field" if err["type"] == "missing" else "invalid_value"
            where = join_path(base, err["loc"])
            text = "this field is required" if code == "missing_field" else err["msg"]
            if err["type"] == "extra_forbidden":
                text = f"unknown field {err['loc'][-1]!r}"
            self.add(where, code, text)

    def model(self, cls: type[BaseModel], data: Any, base: str) -> Any:
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            self.pydantic_issues(base, exc)
            return None


def validate_definition(raw: Any, registry: Registry | None = None) -> ValidationResult:
    """Check a definition read from JSON or YAML; never raises for bad input."""
    if not isinstance(raw, dict):
        issue = Issue("", "invalid_value", "a definition must be a mapping (JSON object)")
        return ValidationResult([issue])
    problem = json_value_problem(raw)
    if problem is not None:  # nothing else is checked in a value that cannot be stored
        return ValidationResult([Issue(problem[0], "invalid_value", problem[1])])
    checker = _Checker(raw, registry)
    node_key = _check_top(checker)
    if node_key is not None:
        _check_nodes(checker, node_key)
        _check_edges(checker, node_key)
    node_ids = list(checker.nodes)
    edge_pairs = [(e.source, e.target) for _, e in checker.edges]
    cycles = find_cycles(node_ids, edge_pairs)
    _report_graph(checker, cycles, edge_pairs)
    _check_refs(checker, edge_pairs, upstream=not cycles)
    result = ValidationResult(_capped(checker.issues))
    if not cycles and node_ids:
        result.levels = levels_of(node_ids, edge_pairs)
    if not checker.issues:
        result.spec = WorkflowSpec.model_validate(raw)
    return result


def _capped(issues: list[Issue]) -> list[Issue]:
    """At most MAX_ISSUES issues (a huge broken definition must not make a huge answer)."""
    if len(issues) <= MAX_ISSUES:
        return issues
    more = len(issues) - MAX_ISSUES
    note = Issue("", "invalid_value", f"{more} more issues are not listed; fix these first")
    return [*issues[:MAX_ISSUES], note]


def _check_top(c: _Checker) -> str | None:
    raw = c.raw
    has_nodes, has_steps = "nodes" in raw, "steps" in raw
    if has_nodes and has_steps:
        c.add("steps", "invalid_value", "give either `nodes` (with `edges`) or `steps`, not both")
    if not has_nodes and not has_steps:
        c.add("nodes", "missing_field", "a workflow needs `nodes` (with `edges`) or `steps`")
    if has_steps and "edges" in raw:
        c.add("edges", "invalid_value", "`steps` run in the given order and take no `edges`")
    top = {k: v for k, v in raw.items() if k not in ("nodes", "edges", "steps")}
    c.model(WorkflowSpec, top, "")
    if isinstance(raw.get("id"), str) and raw["id"] in RESERVED_WORKFLOW_IDS:
        c.add("id", "invalid_value", f"workflow id {raw['id']!r} is reserved")
    schema = raw.get("input_schema")
    if isinstance(schema, dict):
        try:
            jsonschema.validators.validator_for(schema).check_schema(schema)
        except jsonschema.SchemaError as exc:
            c.add("input_schema", "invalid_value", f"not a valid JSON Schema: {exc.message}")
    for key, value in (
        (raw.get("output") or {}).items() if isinstance(raw.get("output"), dict) else ()
    ):
        _collect_refs(c, value, f"output.{key}", None)
    key = "steps" if has_steps and not has_nodes else "nodes"
    items = raw.get(key)
    if (has_nodes or has_steps) and not isinstance(items, list):
        c.add(key, "invalid_value", f"`{key}` must be a list")
        return None
    if isinstance(items, list) and not items:
        c.add(key, "invalid_value", "a workflow needs at least one node")
    if isinstance(items, list) and len(items) > MAX_NODES:
        c.add(
            key,
            "invalid_value",
            f"a workflow has at most {MAX_NODES} nodes; this one has {len(items)}",
        )
        return None  # not worth checking node by node
    return key if has_nodes or has_steps else None


def _check_nodes(c: _Checker, key: str) -> None:
    for i, node in enumerate(c.raw[key]):
        base = f"{key}[{i}]"
        if not isinstance(node, dict):
            c.add(base, "invalid_value", "a node must be a mapping")
            continue
        node_id = node.get("id")
        if "type" in node and node["type"] not in NODE_TYPES:
            c.add(
                f"{base}.type",
                "unknown_node_type",
                f"unknown node type {node['type']!r}; known: {', '.join(NODE_TYPES)}",
            )
            spec = None
            c.model(NodeSpec, {**node, "type": "parallel"}, base)  # still report other fields
        else:
            spec = c.model(NodeSpec, node, base)
        if isinstance(node_id, str):
            _register_node(c, base, node_id, spec, node)
        if spec is not None:
            _check_node_fields(c, base, spec, node)
            if key == "steps" and spec.type in ("condition", "parallel", "join"):
                c.add(
                    f"{base}.type",
                    "invalid_value",
                    f"a `{spec.type}` node needs edges: use `nodes` + `edges` instead of `steps`",
                )


def _register_node(
    c: _Checker, base: str, node_id: str, spec: NodeSpec | None, raw: dict[str, Any]
) -> None:
    if node_id in c.nodes:
        first = c.nodes[node_id][0]
        c.add(f"{base}.id", "duplicate_id", f"node id {node_id!r} is already used by {first}")
        return
    if node_id in RESERVED_NODE_IDS or node_id.startswith("__"):
        c.add(f"{base}.id", "invalid_value", f"node id {node_id!r} is reserved")
    c.nodes[node_id] = (base, spec, raw)


def _check_node_fields(c: _Checker, base: str, spec: NodeSpec, raw: dict[str, Any]) -> None:
    for name in sorted(_TYPED_FIELDS - _TYPE_FIELDS[spec.type]):
        if name in raw:
            c.add(
                f"{base}.{name}", "invalid_value", f"`{name}` has no meaning on a {spec.type} node"
            )
    if spec.type == "tool_call":
        _check_tool(c, base, spec)
    elif spec.type == "agent_call":
        _check_agent(c, base, spec)
    elif spec.type == "condition":
        if spec.expression is None:
            c.add(f"{base}.expression", "missing_field", "a condition needs an `expression`")
        else:
            _check_expression(c, f"{base}.expression", spec.expression, spec.id)
    if spec.when is not None:
        _check_expression(c, f"{base}.when", spec.when, spec.id)
    if spec.retry is not None and spec.max_retries is not None:
        c.add(f"{base}.max_retries", "invalid_value", "give `retry` or `max_retries`, not both")
    _collect_refs(c, spec.inputs, f"{base}.inputs", spec.id)
    for name in ("prompt", "system"):
        if isinstance(raw.get(name), str):
            _collect_refs(c, raw[name], f"{base}.{name}", spec.id)


def _check_tool(c: _Checker, base: str, spec: NodeSpec) -> None:
    if spec.tool is None:
        c.add(f"{base}.tool", "missing_field", "a tool_call needs a `tool`")
    elif c.registry is not None and spec.tool not in c.registry.tools:
        known = ", ".join(c.registry.tools.names())
        c.add(f"{base}.tool", "unknown_tool", f"no tool named {spec.tool!r}; known: {known}")


def _check_agent(c: _Checker, base: str, spec: NodeSpec) -> None:
    if spec.agent is None and spec.model is None:
        c.add(f"{base}.agent", "missing_field", "an agent_call needs an `agent` or a `model`")
    if spec.agent is not None and spec.model is not None:
        c.add(f"{base}.model", "invalid_value", "give `agent` or `model`, not both")
    if spec.agent is not None and c.registry is not None and spec.agent not in c.registry.agents:
        known = ", ".join(c.registry.agents.names()) or "none"
        c.add(
            f"{base}.agent", "unknown_agent", f"no agent graph named {spec.agent!r}; known: {known}"
        )
    if spec.model is not None:
        if spec.prompt is None:
            c.add(
                f"{base}.prompt", "missing_field", "an agent_call with a `model` needs a `prompt`"
            )
        if c.registry is not None:
            try:
                c.registry.check_model(spec.model)
            except ValueError as exc:
                c.add(f"{base}.model", "unknown_agent", str(exc))


def _check_expression(c: _Checker, path: str, source: Any, node_id: str | None) -> None:
    try:
        expression = compile_expression(source)
    except ExpressionError as exc:
        c.add(path, "invalid_expression", str(exc))
        return
    for ref in expression.refs:
        c.refs.append((path, node_id, ref))


def _collect_refs(c: _Checker, value: Any, path: str, node_id: str | None) -> None:
    try:
        _collect_leaf_refs(c, value, path, node_id)
    except RecursionError:
        c.add(path, "invalid_value", "value is nested too deeply")


def _collect_leaf_refs(c: _Checker, value: Any, path: str, node_id: str | None) -> None:
    # Walk to each string so that a bad template is reported at its own path
    # (`nodes[0].inputs.text`), and every bad template, not just the first.
    if isinstance(value, dict):
        for key, sub in value.items():
            _collect_leaf_refs(c, sub, f"{path}.{key}", node_id)
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            _collect_leaf_refs(c, sub, f"{path}[{i}]", node_id)
    elif isinstance(value, str):
        try:
            for where, ref in iter_refs(value, path):
                c.refs.append((where, node_id, ref))
        except TemplateError as exc:
            c.add(path, "invalid_expression", str(exc))


def _check_edges(c: _Checker, key: str) -> None:
    raw_edges = c.raw.get("edges", [])
    if key == "steps":
        _step_edges(c)
        return
    if not isinstance(raw_edges, list):
        c.add("edges", "invalid_value", "`edges` must be a list")
        return
    if len(raw_edges) > MAX_EDGES:
        c.add(
            "edges",
            "invalid_value",
            f"a workflow has at most {MAX_EDGES} edges; this one has {len(raw_edges)}",
        )
        return
    seen: set[tuple[str, str]] = set()
    for k, edge in enumerate(raw_edges):
        base = f"edges[{k}]"
        spec = c.model(EdgeSpec, edge, base) if isinstance(edge, dict) else None
        if not isinstance(edge, dict):
            c.add(base, "invalid_value", "an edge must be a mapping with `from` and `to`")
        if spec is None:
            continue
        ok = True
        for end, node_id in (("from", spec.source), ("to", spec.target)):
            if node_id not in c.nodes:
                c.add(f"{base}.{end}", "unknown_node", f"no node named {node_id!r}")
                ok = False
        if (spec.source, spec.target) in seen:
            c.add(base, "invalid_value", f"edge {spec.source} -> {spec.target} is given twice")
            ok = False
        seen.add((spec.source, spec.target))
        if ok:
            c.edges.append((base, spec))
    _check_condition_edges(c)


def _step_edges(c: _Checker) -> None:
    ids = list(c.nodes)
    for k, (a, b) in enumerate(pairwise(ids)):
        c.edges.append((f"steps[{k + 1}]", EdgeSpec.model_validate({"from": a, "to": b})))


def _check_condition_edges(c: _Checker) -> None:
    by_source: dict[str, list[tuple[str, EdgeSpec]]] = {}
    for base, edge in c.edges:
        by_source.setdefault(edge.source, []).append((base, edge))
    for node_id, (base, spec, _) in c.nodes.items():
        outs = by_source.get(node_id, [])
        if spec is None:
            continue
        if spec.type != "condition":
            for path, edge in outs:
                if edge.has_when or edge.default:
                    c.add(
                        path,
                        "invalid_value",
                        "`when`/`default` on an edge only apply to edges from a condition node",
                    )
            continue
        if not outs:
            c.add(base, "invalid_value", f"condition {node_id!r} has no out-edges to route to")
        defaults = 0
        for path, edge in outs:
            if edge.has_when and edge.default:
                c.add(path, "invalid_value", "an edge carries `when` or `default: true`, not both")
            elif not edge.has_when and not edge.default:
                c.add(
                    f"{path}.when",
                    "missing_field",
                    f"edges from condition {node_id!r} need `when: <value>` or `default: true`",
                )
            defaults += edge.default
            if edge.default and defaults == 2:
                c.add(
                    f"{path}.default",
                    "invalid_value",
                    f"condition {node_id!r} has more than one default edge",
                )


def _report_graph(c: _Checker, cycles: list[list[str]], edges: list[tuple[str, str]]) -> None:
    edge_paths = {(e.source, e.target): base for base, e in c.edges}
    for cycle in cycles:
        ring = [*cycle, cycle[0]]
        path = edge_paths.get((ring[0], ring[1]), "edges")
        c.add(path, "cycle", "cycle: " + " -> ".join(ring))
    touched = {n for pair in edges for n in pair}
    in_cycle = {n for cycle in cycles for n in cycle}
    reachable = _reachable(list(c.nodes), edges)
    for node_id, (base, _, _) in c.nodes.items():
        if len(c.nodes) > 1 and node_id not in touched:
            c.add(base, "unreachable_node", f"node {node_id!r} has no edges: nothing leads to it")
        elif node_id not in reachable and node_id not in in_cycle:
            c.add(base, "unreachable_node", f"node {node_id!r} cannot be reached from a start node")
        elif node_id not in reachable:
            c.add(base, "unreachable_node", f"node {node_id!r} is only reachable through a cycle")
        spec = c.nodes[node_id][1]
        if spec is not None and spec.type == "join" and not any(t == node_id for _, t in edges):
            c.add(base, "invalid_value", f"join {node_id!r} has no incoming branches")


def _reachable(nodes: Iterable[str], edges: list[tuple[str, str]]) -> set[str]:
    targets = {t for _, t in edges}
    succ: dict[str, list[str]] = {}
    for s, t in edges:
        succ.setdefault(s, []).append(t)
    frontier = [n for n in nodes if n not in targets]
    seen = set(frontier)
    while frontier:
        for t in succ.get(frontier.pop(), ()):
            if t not in seen:
                seen.add(t)
                frontier.append(t)
    return seen


def _ancestors(edges: list[tuple[str, str]]) -> dict[str, set[str]]:
    """Every node's ancestors, in topological order rather than by recursion (a long chain
    must not hit the recursion limit). Nodes on or after a cycle are left out."""
    parents: dict[str, set[str]] = {}
    children: dict[str, list[str]] = {}
    for s, t in set(edges):
        parents.setdefault(t, set()).add(s)
        children.setdefault(s, []).append(t)
    waiting = {n: len(parents.get(n, ())) for n in {n for pair in edges for n in pair}}
    ready = [n for n, count in waiting.items() if count == 0]
    memo: dict[str, set[str]] = {}
    while ready:
        node = ready.pop()
        found: set[str] = set()
        for p in parents.get(node, ()):
            found |= {p} | memo[p]
        memo[node] = found
        for child in children.get(node, ()):
            waiting[child] -= 1
            if waiting[child] == 0:
                ready.append(child)
    return memo


def _check_refs(c: _Checker, edges: list[tuple[str, str]], *, upstream: bool) -> None:
    ancestors = _ancestors(edges)
    schema = c.raw.get("input_schema")
    props = schema.get("properties") if isinstance(schema, dict) else None
    input_keys = set(props) if isinstance(props, dict) else None
    context = c.raw.get("context")
    context_keys = set(context) if isinstance(context, dict) and context else None
    for path, owner, ref in c.refs:
        key = ref.first_key
        if ref.root == "input":
            if input_keys is not None and key is not None and key not in input_keys:
                c.add(path, "unknown_reference", f"{ref.text}: input_schema declares no {key!r}")
        elif ref.root == "context":
            declared = (
                None
                if input_keys is None and context_keys is None
                else ((input_keys or set()) | (context_keys or set()))
            )
            if declared is not None and key is not None and key not in declared:
                c.add(
                    path,
                    "unknown_reference",
                    f"{ref.text}: {key!r} is neither in `context` nor in input_schema",
                )
        elif ref.root not in c.nodes:
            c.add(path, "unknown_node", f"{ref.text}: no node named {ref.root!r}")
        elif upstream and owner is not None and ref.root not in ancestors.get(owner, set()):
            c.add(
                path,
                "unknown_reference",
                f"{ref.text}: node {ref.root!r} is not upstream of {owner!r}",
            )
