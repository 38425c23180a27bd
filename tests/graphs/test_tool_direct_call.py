"""`invoke_tool` skips LangChain's per-call signature inspection for plain `@tool`
coroutines; it must give what `ainvoke` gives, and leave every other tool to `ainvoke`."""

from __future__ import annotations

import contextvars
from typing import Annotated, Any

import pytest
from langchain_core.callbacks import AsyncCallbackHandler
from langchain_core.runnables import RunnableConfig, RunnableLambda
from langchain_core.tools import BaseTool, InjectedToolArg, ToolException, tool
from pydantic import ValidationError

from graphs.tools import delay, direct_call, echo, invoke_tool


@tool
async def shaped(count: int, label: str = "x", tags: list[str] | None = None) -> dict[str, Any]:
    """Return what it was given, to compare how arguments arrive."""
    return {"count": count, "label": label, "tags": tags}


@tool
async def refuses(reason: str) -> str:
    """Raise a ToolException."""
    raise ToolException(reason)


@tool
async def wants_config(text: str, config: RunnableConfig) -> str:
    """Uses the config LangChain passes in."""
    return text


@tool
async def injected(text: str, secret: Annotated[str, InjectedToolArg]) -> str:
    """Has an injected argument."""
    return text + secret


@tool(response_format="content_and_artifact")
async def with_artifact(text: str) -> tuple[str, dict[str, Any]]:
    """Returns an artifact."""
    return text, {"raw": text}


@tool
def sync_tool(text: str) -> str:
    """A plain function tool."""
    return text


@tool
async def no_args() -> str:
    """Takes nothing."""
    return "done"


@pytest.mark.parametrize(
    ("item", "inputs"),
    [
        (echo, {"value": {"a": [1, 2]}}),
        (echo, {}),
        (delay, {"seconds": 0, "message": "hi"}),
        (shaped, {"count": "3"}),
        (shaped, {"count": 2, "label": "y", "tags": ["a"]}),
        (no_args, {}),
    ],
)
async def test_a_direct_call_gives_what_ainvoke_gives(
    item: BaseTool, inputs: dict[str, Any]
) -> None:
    assert direct_call(item) is not None
    assert await invoke_tool(item, dict(inputs)) == await item.ainvoke(dict(inputs))


@pytest.mark.parametrize("inputs", [{"count": "many"}, {}, {"count": 1, "tags": "x"}])
async def test_bad_arguments_fail_the_same_way(inputs: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as direct:
        await invoke_tool(shaped, dict(inputs))
    with pytest.raises(ValidationError) as invoked:
        await shaped.ainvoke(dict(inputs))
    assert direct.value.errors() == invoked.value.errors()


async def test_a_tool_exception_reaches_the_caller() -> None:
    with pytest.raises(ToolException, match="no way"):
        await invoke_tool(refuses, {"reason": "no way"})


@pytest.mark.parametrize("item", [wants_config, injected, with_artifact, sync_tool])
def test_tools_that_need_more_than_their_arguments_keep_ainvoke(item: BaseTool) -> None:
    assert direct_call(item) is None


def test_error_handlers_keep_ainvoke() -> None:
    handled = shaped.model_copy(update={"handle_tool_error": True})
    assert direct_call(handled) is None


async def test_configured_callbacks_still_see_the_tool_run() -> None:
    seen: list[str] = []

    class Recorder(AsyncCallbackHandler):
        async def on_tool_start(self, serialized: dict[str, Any], input_str: str, **_: Any) -> None:
            seen.append(serialized["name"])

    async def call(_: Any) -> Any:
        return await invoke_tool(echo, {"value": 1})

    result = await RunnableLambda(call).ainvoke(None, {"callbacks": [Recorder()]})
    assert result == 1 and seen == ["echo"]


_leak: contextvars.ContextVar[str] = contextvars.ContextVar("leak", default="unset")


@tool
async def sets_a_variable(value: str) -> str:
    """Sets a context variable, as some libraries do inside a call."""
    _leak.set(value)
    return value


async def test_context_variables_set_by_a_tool_stay_inside_the_call() -> None:
    assert direct_call(sets_a_variable) is not None
    assert await invoke_tool(sets_a_variable, {"value": "inside"}) == "inside"
    assert _leak.get() == "unset"
