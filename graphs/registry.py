"""What a definition may name: tools, agent graphs and chat models."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from langchain_core.language_models import BaseChatModel

from graphs.agents import AgentRegistry
from graphs.models import check_model, load_model
from graphs.tools import ToolRegistry

DEFAULT_LANGGRAPH_JSON = Path(__file__).resolve().parent.parent / "langgraph.json"


class Registry:
    """Tools and agents known to this installation; models are checked by provider."""

    def __init__(self, tools: ToolRegistry, agents: AgentRegistry) -> None:
        self.tools = tools
        self.agents = agents
        self._models: dict[str, BaseChatModel] = {}

    @classmethod
    def from_settings(
        cls,
        tool_modules: Iterable[str] = (),
        langgraph_json: str | Path | None = None,
        *,
        demo_tools: bool = True,
    ) -> Registry:
        """Built-in and configured tools; agents from `langgraph_json` (default: the repo's)."""
        path = langgraph_json if langgraph_json is not None else DEFAULT_LANGGRAPH_JSON
        return cls(ToolRegistry.standard(tool_modules, demo=demo_tools), AgentRegistry(path))

    def check_model(self, spec: str) -> None:
        check_model(spec)

    def model(self, spec: str) -> BaseChatModel:
        """One model instance per spec, shared (chat models are safe to share)."""
        if spec not in self._models:
            self._models[spec] = load_model(spec)
        return self._models[spec]
