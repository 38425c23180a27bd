"""Agent graphs named in `langgraph.json`, loaded the way the LangGraph CLI loads them."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

from langgraph.pregel import Pregel


class AgentUnavailable(ValueError):
    """An agent name that is not listed, or whose graph cannot be loaded."""


def read_langgraph_json(path: str | Path) -> dict[str, str]:
    """The `graphs` mapping of a langgraph.json file: name -> "./file.py:attribute"."""
    config = json.loads(Path(path).read_text(encoding="utf-8"))
    graphs = config.get("graphs", {})
    return {
        name: (spec if isinstance(spec, str) else spec["path"]) for name, spec in graphs.items()
    }


def load_graph_spec(spec: str, base_dir: Path) -> Pregel[Any, Any, Any, Any]:
    """Import `./file.py:attr` relative to `base_dir` and return the graph it names.

    The attribute may be a compiled graph, a StateGraph (compiled here), or a function
    that returns either, the same forms the LangGraph CLI accepts.
    """
    file_part, _, attr = spec.rpartition(":")
    if not file_part or not attr:
        raise AgentUnavailable(f"graph spec {spec!r} must look like './file.py:graph'")
    path = (base_dir / file_part).resolve()
    module_name = f"graphyard_agent_{path.stem}_{abs(hash(str(path)))}"
    module_spec = importlib.util.spec_from_file_location(module_name, path)
    if module_spec is None or module_spec.loader is None:
        raise AgentUnavailable(f"cannot load {path}")
    module = importlib.util.module_from_spec(module_spec)
    sys.modules[module_name] = module
    module_spec.loader.exec_module(module)
    target: Any = getattr(module, attr, None)
    if target is None:
        raise AgentUnavailable(f"{path} has no attribute {attr!r}")
    if callable(target) and not hasattr(target, "compile") and not isinstance(target, Pregel):
        target = target()
    if hasattr(target, "compile") and not isinstance(target, Pregel):
        target = target.compile()
    if not isinstance(target, Pregel):
        raise AgentUnavailable(f"{spec} is not a LangGraph graph")
    return target


class AgentRegistry:
    """Agent names from langgraph.json; graphs are imported on first use and kept."""

    def __init__(self, langgraph_json: str | Path | None = None) -> None:
        self._specs: dict[str, str] = {}
        self._base = Path(".")
        self._loaded: dict[str, Pregel[Any, Any, Any, Any]] = {}
        if langgraph_json is not None and Path(langgraph_json).is_file():
            self._base = Path(langgraph_json).resolve().parent
            self._specs = read_langgraph_json(langgraph_json)

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def names(self) -> list[str]:
        return sorted(self._specs)

    def graph(self, name: str) -> Pregel[Any, Any, Any, Any]:
        if name not in self._specs:
            raise AgentUnavailable(f"no agent graph named {name!r} in langgraph.json")
        if name not in self._loaded:
            self._loaded[name] = load_graph_spec(self._specs[name], self._base)
        return self._loaded[name]
