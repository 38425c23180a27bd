"""Hypothesis strategies for workflow definitions, and an oracle that says how each one runs.

`plans()` draws VALID definitions: random DAGs over every node type (tool calls of the
built-in `echo` and of a test tool that records side effects, agent calls on `fake:echo`,
human gates, conditions with `when`/`default` edges, parallel fan-outs, joins), `when`
preconditions, the `steps` form, context, input schema and output mappings. Along with the
definition, a plan carries the run input and what the oracle, written here from the rules
of API.md section 5 (not from the engine's code), expects: each node COMPLETED or SKIPPED,
which branches each condition takes, and the outputs of the nodes whose output it can
compute. `mutated()` breaks plans in random ways for the never-crash properties.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st
from langchain_core.tools import tool

from graphs.spec import RESERVED_NODE_IDS

LOG_BINDING = "$input.log"
STRINGS = ["a", "b", "", "héllo wörld", "x y z", "ünï€ødé"]
WHEN_POOL: list[Any] = [True, False, 0, 1, 2, 3, -1, "a", "b", "", None]
APPROVE = {"decision": "approve", "comment": None, "data": None, "decided_by": "drill"}
INPUT_SCHEMA = {
    "type": "object",
    "properties": {
        "n": {"type": "integer"},
        "s": {"type": "string"},
        "flag": {"type": "boolean"},
        "log": {"type": "string"},
    },
    "required": ["n", "s", "flag", "log"],
}


@tool
async def record(log: str, label: str) -> dict[str, Any]:
    """Append `label` to the file `log` (a side effect that can be counted) and return it."""
    with open(log, "a", encoding="utf-8") as handle:
        handle.write(label + "\n")
    return {"label": label}


def same_value(a: Any, b: Any) -> bool:
    """API.md: an edge's `when` matches the condition's value; `true` is not `1`."""
    return bool(a == b and isinstance(a, bool) == isinstance(b, bool))


@dataclass
class Expr:
    """An expression as written, and its value for the plan's input (computed here)."""

    text: str
    value: Any


@dataclass
class NodePlan:
    node: dict[str, Any]
    kind: str  # echo | record | agent | gate | condition | parallel | join
    preds: list[str]
    when: Expr | None = None
    expression: Expr | None = None
    edge_whens: dict[str, Any] = field(default_factory=dict)  # target -> when value
    default_targets: list[str] = field(default_factory=list)


@dataclass
class Plan:
    """A valid definition, the input to run it with, and what the oracle expects."""

    definition: dict[str, Any]
    run_input: dict[str, Any]
    order: list[str]
    nodes: dict[str, NodePlan]
    succs: dict[str, list[str]]
    expected: dict[str, str] = field(default_factory=dict)  # node -> COMPLETED | SKIPPED
    branches: dict[str, list[str]] = field(default_factory=dict)  # condition -> targets
    skip_reason: dict[str, str] = field(default_factory=dict)

    def with_log(self, log: str) -> dict[str, Any]:
        return {**self.run_input, "log": log}

    @property
    def sinks(self) -> list[str]:
        return [n for n in self.order if not self.succs[n]]

    def expected_output(self, node_id: str, records: dict[str, dict[str, Any]]) -> Any:
        """What a COMPLETED node returns, where the oracle can say (else the record's own)."""
        plan, inp = self.nodes[node_id], self.run_input
        n, s = inp["n"], inp["s"]
        if plan.kind == "echo":
            value = dict(plan.node["inputs"]["value"])
            value.update({"n": n, "t": f"{s}|{n}"})
            if "up" in value:
                up = value["up"].removeprefix("$")
                value["up"] = records.get(up, {}).get("output")
            return value
        if plan.kind == "record":
            return {"label": node_id}
        if plan.kind == "agent":
            return {"text": f"hi {s} n={n}", "model": "fake:echo"}
        if plan.kind == "gate":
            return APPROVE
        if plan.kind == "condition":
            assert plan.expression is not None
            return {"value": plan.expression.value, "branches": self.branches[node_id]}
        if plan.kind == "parallel":
            return {"branches": self.succs[node_id]}
        # join: each incoming node that was not skipped, with its output
        return {p: records[p]["output"] for p in plan.preds if self.expected[p] != "SKIPPED"}


# -- expressions ---------------------------------------------------------------------------


def bool_exprs(inp: dict[str, Any], has_context: bool, done: dict[str, bool]) -> list[Expr]:
    """Boolean expressions over the input, the context and upstream nodes, with values."""
    n, s, flag = inp["n"], inp["s"], inp["flag"]
    out = [
        Expr("$input.flag", flag),
        Expr("not $input.flag", not flag),
        Expr("true", True),
        Expr("false", False),
        Expr("$input.n in [1, 2, 3]", n in [1, 2, 3]),
        Expr("$input.flag and $input.n < 2", flag and n < 2),
        Expr("$input.flag or $input.n * 2 >= 4", flag or n * 2 >= 4),
    ]
    out += [Expr(f"$input.n > {k}", n > k) for k in (-1, 0, 2, 4)]
    out += [Expr(f"$input.n + {k} == 3", n + k == 3) for k in (0, 1, 2)]
    out += [Expr(f"$input.s == '{t}'", s == t) for t in STRINGS[:3]]
    if has_context:
        out += [Expr(f"$context.k >= {k}", 3 >= k) for k in (2, 3, 4)]
    for node_id, completed in done.items():
        # Every node kind here gives a non-null output when it completes; a skipped one has none.
        out += [Expr(f"${node_id} != null", completed), Expr(f"${node_id} == null", not completed)]
    return out


def value_exprs(inp: dict[str, Any]) -> list[Expr]:
    n, s = inp["n"], inp["s"]
    return [Expr("$input.n", n), Expr("$input.s", s), Expr("$input.n * 2", n * 2)]


# -- plans ---------------------------------------------------------------------------------

node_ids = st.from_regex(r"[A-Za-z][A-Za-z0-9_-]{0,8}", fullmatch=True).filter(
    lambda s: s not in RESERVED_NODE_IDS
)
workflow_ids = st.from_regex(r"[a-z][a-z0-9_-]{0,20}", fullmatch=True).filter(
    lambda s: s not in ("runs", "validate")
)


def _dag(draw: st.DrawFn, count: int, chain: bool) -> list[set[int]]:
    """Predecessors of each node by index; edges only go forward, every node has an edge."""
    if chain:
        return [set()] + [{i - 1} for i in range(1, count)]
    preds: list[set[int]] = [set()]
    for i in range(1, count):
        preds.append(set(draw(st.lists(st.integers(0, i - 1), max_size=3, unique=True))))
    for i in range(count):
        has_out = any(i in p for p in preds)
        if count > 1 and not preds[i] and not has_out:
            if i < count - 1:
                preds[draw(st.integers(i + 1, count - 1))].add(i)
            else:
                preds[i].add(draw(st.integers(0, i - 1)))
    return preds


def _common_fields(draw: st.DrawFn, node: dict[str, Any]) -> None:
    """Optional fields every node may carry; none of them changes how a run ends here."""
    if draw(st.booleans()):
        node["name"] = draw(st.sampled_from(["Step", "Ünïcode step", ""]))
    if draw(st.integers(0, 3)) == 0:
        node["description"] = "drawn by hypothesis"
    retry = draw(st.integers(0, 4))
    if retry == 1:
        node["retry"] = {"max_attempts": draw(st.integers(1, 3)), "initial_interval_seconds": 0}
    elif retry == 2:
        node["max_retries"] = draw(st.integers(0, 2))
    if draw(st.integers(0, 3)) == 0:
        node["timeout_seconds"] = 60
    failure = draw(st.integers(0, 4))
    if failure == 1:
        node["on_failure"] = draw(st.sampled_from(["fail", "continue"]))
    elif failure == 2:
        node["continue_on_failure"] = draw(st.booleans())


def _kind(draw: st.DrawFn, has_in: bool, has_out: bool, steps: bool, gates: bool) -> str:
    kinds = ["echo", "record", "agent"] + (["gate"] if gates else [])
    if not steps:  # flow nodes twice as likely: they are where routing goes wrong
        kinds += ["parallel"] + ["condition"] * 2 * has_out + ["join"] * 2 * has_in
    return str(draw(st.sampled_from(kinds)))


def _node(draw: st.DrawFn, node_id: str, kind: str, ancestors: list[str]) -> dict[str, Any]:
    if kind == "echo":
        value: dict[str, Any] = {
            "n": "$input.n",
            "t": "{{ $input.s }}|{{ $input.n }}",
            "k": draw(st.sampled_from([1, "$literal text", [1, "a"], None])),
        }
        if ancestors and draw(st.booleans()):
            value["up"] = "$" + draw(st.sampled_from(ancestors))
        return {"id": node_id, "type": "tool_call", "tool": "echo", "inputs": {"value": value}}
    if kind == "record":
        return {
            "id": node_id,
            "type": "tool_call",
            "tool": "record",
            "inputs": {"log": LOG_BINDING, "label": node_id},
        }
    if kind == "agent":
        node = {
            "id": node_id,
            "type": "agent_call",
            "model": "fake:echo",
            "prompt": "hi {{ $input.s }} n={{ $input.n }}",
        }
        if draw(st.booleans()):
            node["system"] = "Answer briefly."
        return node
    if kind == "gate":
        return {
            "id": node_id,
            "type": "human_gate",
            "prompt": "ok {{ $input.s }}?",
            "inputs": {"n": "$input.n"},
        }
    types = {"condition": "condition", "parallel": "parallel", "join": "join"}
    return {"id": node_id, "type": types[kind]}


@st.composite
def plans(draw: st.DrawFn, *, gates: bool = True, max_nodes: int = 8) -> Plan:
    """A valid definition with its run input, and the oracle's expectations filled in."""
    run_input = {
        "n": draw(st.integers(-3, 5)),
        "s": draw(st.sampled_from(STRINGS)),
        "flag": draw(st.booleans()),
    }
    count = draw(st.integers(1, max_nodes))
    steps = draw(st.integers(0, 4)) == 0
    ids = draw(st.lists(node_ids, min_size=count, max_size=count, unique=True))
    preds_by_index = _dag(draw, count, chain=steps)
    has_context = draw(st.booleans())
    preds = {ids[i]: [ids[p] for p in sorted(preds_by_index[i])] for i in range(count)}
    succs = {a: [b for b in ids if a in preds[b]] for a in ids}
    plan = Plan({}, run_input, ids, {}, succs)
    ancestors: dict[str, list[str]] = {}
    for node_id in ids:
        found = {p for p in preds[node_id]}
        for p in preds[node_id]:
            found |= set(ancestors[p])
        ancestors[node_id] = [a for a in ids if a in found]
        kind = _kind(draw, bool(preds[node_id]), bool(succs[node_id]), steps, gates)
        node = _node(draw, node_id, kind, ancestors[node_id])
        _common_fields(draw, node)
        plan.nodes[node_id] = NodePlan(node, kind, preds[node_id])
        _decide(draw, plan, node_id, has_context, ancestors[node_id])
    plan.definition = _definition(draw, plan, steps, has_context)
    return plan


def _decide(
    draw: st.DrawFn, plan: Plan, node_id: str, has_context: bool, ancestors: list[str]
) -> None:
    """Draw the node's `when` and (for a condition) its routing, then apply the oracle."""
    np, inp = plan.nodes[node_id], plan.run_input
    done = {a: plan.expected[a] == "COMPLETED" for a in ancestors}
    if draw(st.integers(0, 3)) == 0:
        np.when = draw(st.sampled_from(bool_exprs(inp, has_context, done)))
        np.node["when"] = np.when.text
    if np.kind == "condition":
        pool = bool_exprs(inp, has_context, done) + value_exprs(inp)
        np.expression = draw(st.sampled_from(pool))
        np.node["expression"] = np.expression.text
        default_at = draw(st.sampled_from([None, *plan.succs[node_id]]))
        for target in plan.succs[node_id]:
            if target == default_at:
                np.default_targets.append(target)
            else:  # the expression's value, one easily confused with it, or any
                value = np.expression.value
                np.edge_whens[target] = draw(
                    st.sampled_from([value, _lookalike(value)]) | st.sampled_from(WHEN_POOL)
                )
    _oracle(plan, node_id)


def _lookalike(value: Any) -> Any:
    """A value equal to `value` in Python but not in a definition: `1` for `true` and back."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    return f"{value}" if not isinstance(value, str) else f"{value} "


def _edge_live(plan: Plan, source: str, target: str) -> bool:
    """API.md: a finished predecessor carries on to `target` unless a condition left it out."""
    status = plan.expected[source]
    if status == "SKIPPED" and plan.skip_reason[source] != "when":
        return False  # on a branch that was not taken: its successors are skipped as well
    if plan.nodes[source].kind != "condition":
        return True
    return target in plan.branches[source]


def _oracle(plan: Plan, node_id: str) -> None:
    np = plan.nodes[node_id]
    live = not np.preds or any(_edge_live(plan, p, node_id) for p in np.preds)
    if not live:
        plan.expected[node_id], plan.skip_reason[node_id] = "SKIPPED", "branch"
    elif np.when is not None and not np.when.value:
        plan.expected[node_id], plan.skip_reason[node_id] = "SKIPPED", "when"
    else:
        plan.expected[node_id] = "COMPLETED"
    if np.kind != "condition":
        return
    if plan.expected[node_id] == "SKIPPED":
        # A condition that does not run routes to its default edge (if any).
        plan.branches[node_id] = list(np.default_targets)
        return
    assert np.expression is not None
    taken = [t for t, w in np.edge_whens.items() if same_value(w, np.expression.value)]
    plan.branches[node_id] = taken or list(np.default_targets)
    # keep edge order: the engine lists branches in the order of the out-edges
    plan.branches[node_id] = [t for t in plan.succs[node_id] if t in plan.branches[node_id]]


def _definition(draw: st.DrawFn, plan: Plan, steps: bool, has_context: bool) -> dict[str, Any]:
    nodes = [plan.nodes[n].node for n in plan.order]
    definition: dict[str, Any] = {"id": draw(workflow_ids)}
    if draw(st.booleans()):
        definition["name"] = "Drawn workflow"
    if has_context:
        definition["context"] = {"k": 3}
    if draw(st.booleans()):
        definition["input_schema"] = copy.deepcopy(INPUT_SCHEMA)
    if draw(st.booleans()):
        definition["settings"] = {
            "stop_on_failure": draw(st.booleans()),
            "max_execution_time_seconds": 120,
        }
    if draw(st.integers(0, 3)) == 0:
        definition["output"] = {"n": "$input.n", "last": "$" + plan.order[-1]}
    if steps:
        definition["steps"] = nodes
        return definition
    edges = []
    for target in plan.order:
        for source in plan.nodes[target].preds:
            edge: dict[str, Any] = {"from": source, "to": target}
            source_plan = plan.nodes[source]
            if target in source_plan.default_targets:
                edge["default"] = True
            elif target in source_plan.edge_whens:
                edge["when"] = source_plan.edge_whens[target]
            edges.append(edge)
    # the engine keeps out-edge order; list them grouped by source in `succs` order
    order = {n: i for i, n in enumerate(plan.order)}
    edges.sort(key=lambda e: (order[e["from"]], order[e["to"]]))
    definition["nodes"] = nodes
    definition["edges"] = edges
    return definition


def expected_run_output(plan: Plan, records: dict[str, dict[str, Any]]) -> Any:
    """The run's output: the `output` mapping, or each COMPLETED sink's output by node id."""
    mapping = plan.definition.get("output")
    if mapping is not None:
        last = plan.order[-1]
        return {"n": plan.run_input["n"], "last": records.get(last, {}).get("output")}
    return {s: records[s]["output"] for s in plan.sinks if plan.expected[s] == "COMPLETED"}


# -- mutations -----------------------------------------------------------------------------

weird_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**63),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from(
        [
            "$",
            "$a",
            "$input.n",
            "{{ $a }}",
            "{{",
            "}}",
            "{{ x }}",
            "\x00",
            "‮",
            "echo",
            "record",
            "fake:echo",
            "join",
            "condition",
            "1 +",
            "$a.b[0]",
            "not not true",
            "(" * 60 + "1" + ")" * 60,
        ]
    ),
)
weird_values = st.recursive(
    weird_scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix]
    if isinstance(value, dict):
        for key, sub in value.items():
            out += _paths(sub, (*prefix, key))
    elif isinstance(value, list):
        for i, sub in enumerate(value):
            out += _paths(sub, (*prefix, i))
    return out


def _parent(root: Any, path: tuple[Any, ...]) -> Any:
    for part in path[:-1]:
        root = root[part]
    return root


@st.composite
def mutated(draw: st.DrawFn) -> dict[str, Any]:
    """A valid plan's definition with one to four random changes (most make it invalid)."""
    definition = copy.deepcopy(draw(plans(max_nodes=5)).definition)
    for _ in range(draw(st.integers(1, 4))):
        _mutate(draw, definition)
    return definition


def _mutate(draw: st.DrawFn, definition: dict[str, Any]) -> None:
    nodes = definition.get("nodes") if isinstance(definition.get("nodes"), list) else None
    nodes = nodes or (definition.get("steps") if isinstance(definition.get("steps"), list) else [])
    ids = [n["id"] for n in nodes if isinstance(n, dict) and isinstance(n.get("id"), str)]
    how = draw(
        st.sampled_from(["delete", "replace", "duplicate", "edge", "type", "rename", "steps"])
    )
    paths = [p for p in _paths(definition) if p]
    if how in ("delete", "replace") and paths:
        path = draw(st.sampled_from(paths))
        parent = _parent(definition, path)
        if how == "delete":
            del parent[path[-1]]
        else:
            parent[path[-1]] = draw(weird_values)
    elif how == "duplicate" and nodes:
        nodes.append(copy.deepcopy(draw(st.sampled_from(nodes))))
    elif how == "edge" and ids:
        edge: dict[str, Any] = {
            "from": draw(st.sampled_from(ids)),
            "to": draw(st.sampled_from(ids)),
        }
        if draw(st.booleans()):
            edge[draw(st.sampled_from(["when", "default"]))] = draw(weird_scalars)
        edges = definition.setdefault("edges", [])
        if isinstance(edges, list):
            edges.append(edge)
    elif how == "type" and nodes:
        node = draw(st.sampled_from(nodes))
        if isinstance(node, dict):
            node["type"] = draw(
                st.sampled_from(
                    ["tool_call", "agent_call", "human_gate", "condition", "parallel", "join", "x"]
                )
            )
    elif how == "rename" and nodes:
        node = draw(st.sampled_from(nodes))
        if isinstance(node, dict):
            node["id"] = draw(node_ids | weird_scalars)
    elif how == "steps" and nodes:
        definition["steps"] = definition.pop("nodes", nodes)
        if draw(st.booleans()):
            definition.pop("edges", None)
