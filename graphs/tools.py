"""Registry of LangChain tools: built-ins, modules named by the operator, entry points."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import importlib
import inspect
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Iterator
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any, cast

import httpx
from langchain_core.runnables import ensure_config
from langchain_core.tools import BaseTool, StructuredTool, tool
from langsmith.utils import tracing_is_enabled
from pydantic import BaseModel

from graphs.errors import HardError, RetryableError

ENTRY_POINT_GROUP = "graphyard.tools"
ProgressSink = Callable[[Any], None]
_progress_sink: contextvars.ContextVar[ProgressSink | None] = contextvars.ContextVar(
    "graphyard_progress_sink", default=None
)


def report_progress(data: Any) -> None:
    """Tell watchers how a tool is getting on; shows up as a `node.progress` event.

    Safe to call outside a run (then it does nothing).
    """
    sink = _progress_sink.get()
    if sink is not None:
        sink(data)


@contextlib.contextmanager
def progress_reporting(sink: ProgressSink) -> Iterator[None]:
    """Send `report_progress` calls made inside the block (and its tasks) to `sink`."""
    token = _progress_sink.set(sink)
    try:
        yield
    finally:
        _progress_sink.reset(token)


@tool
async def delay(seconds: float, message: str = "") -> dict[str, Any]:
    """Wait for `seconds` (cancellable at any moment), reporting progress once a second."""
    if seconds < 0 or seconds > 86400:
        raise HardError("seconds must be between 0 and 86400")
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while (left := end - loop.time()) > 0:
        await asyncio.sleep(min(1.0, left))
        report_progress({"waited_seconds": round(seconds - max(end - loop.time(), 0), 3)})
    return {"waited_seconds": seconds, "message": message}


@tool
async def echo(value: Any = None) -> Any:
    """Return `value` unchanged: handy to shape data between nodes."""
    return value


@tool
async def http_request(
    url: str,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    params: dict[str, Any] | None = None,
    json_body: Any = None,
    body: str | None = None,
    timeout_seconds: float = 30.0,
    raise_for_status: bool = True,
) -> dict[str, Any]:
    """Make an HTTP request. 429 and 5xx raise a retryable error; other 4xx fail the node
    unless `raise_for_status` is false. Returns status, headers and the body (JSON if it is)."""
    if not url.startswith(("http://", "https://")):
        raise HardError("url must start with http:// or https://")
    async with httpx.AsyncClient(timeout=timeout_seconds, follow_redirects=True) as client:
        try:
            response = await client.request(
                method.upper(), url, headers=headers, params=params, json=json_body, content=body
            )
        except httpx.TimeoutException as exc:
            raise RetryableError(f"{method} {url} timed out after {timeout_seconds} s") from exc
        except httpx.TransportError as exc:
            raise RetryableError(f"{method} {url} failed: {exc}") from exc
    status = response.status_code
    if status == 429 or status >= 500:
        raise RetryableError(f"{method} {url} answered {status}")
    if status >= 400 and raise_for_status:
        raise HardError(f"{method} {url} answered {status}")
    try:
        content: Any = response.json()
    except ValueError:
        content = response.text
    return {"status": status, "headers": dict(response.headers), "body": content}


BUILTIN_TOOLS: tuple[BaseTool, ...] = (delay, echo, http_request)

ToolCall = Callable[[dict[str, Any]], Awaitable[Any]]
_PLAIN = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def direct_call(item: BaseTool) -> ToolCall | None:
    """The tool's coroutine, with its arguments validated and passed as `ainvoke` passes
    them, for a plain `@tool` coroutine; None when `ainvoke` would do more: callbacks,
    injected or aliased arguments, a `config`/`run_manager`/`callbacks` parameter, error
    handlers, an artifact.

    One difference stays: inside the tool, `get_config()` gives the node's config, not a
    child config of the tool's own run (which only callbacks would see).

    Why: `BaseTool.ainvoke` inspects the function's signature and type hints again on
    every call (about 0.15 ms outside a graph, 0.3 ms inside), about 10% of the server's
    CPU per run for a workflow of three tool calls. Calls still go through `ainvoke` while
    LangSmith tracing is on or callbacks are configured, so traces keep their tool runs.
    """
    if type(item) is not StructuredTool or item.coroutine is None:
        return None
    if item.callbacks or item.response_format != "content":
        return None
    if item.handle_tool_error or item.handle_validation_error:
        return None
    schema = item.args_schema
    if not (isinstance(schema, type) and issubclass(schema, BaseModel)):
        return None
    fields = schema.model_fields
    if any(f.alias or f.validation_alias for f in fields.values()):
        return None
    params = inspect.signature(item.coroutine).parameters
    if set(params) != set(fields) or any(p.kind not in _PLAIN for p in params.values()):
        return None
    call_schema = item.tool_call_schema  # the schema without injected arguments
    if not (isinstance(call_schema, type) and issubclass(call_schema, BaseModel)):
        return None
    if set(call_schema.model_fields) != set(fields):
        return None
    coroutine = item.coroutine
    defaulted = {name for name, f in fields.items() if not f.is_required()}

    async def call(inputs: dict[str, Any]) -> Any:
        kwargs: dict[str, Any] = {}
        if fields:
            parsed = schema.model_validate(inputs)
            kwargs = {k: getattr(parsed, k) for k in fields if k in inputs or k in defaulted}
        # In a task of its own with a copy of the context, as ainvoke runs it: context
        # variables the tool sets stay inside the tool call.
        context = contextvars.copy_context()
        started = cast(Coroutine[Any, Any, Any], coroutine(**kwargs))
        return await asyncio.create_task(started, context=context)

    return call


_DIRECT: dict[int, tuple[BaseTool, ToolCall | None]] = {}


async def invoke_tool(item: BaseTool, inputs: dict[str, Any]) -> Any:
    """`item.ainvoke(inputs)`, through `direct_call` when it gives the same result."""
    cached = _DIRECT.get(id(item))
    if cached is None or cached[0] is not item:
        cached = _DIRECT[id(item)] = (item, direct_call(item))
    call = cached[1]
    if call is None or tracing_is_enabled() or _has_handlers(ensure_config().get("callbacks")):
        return await item.ainvoke(inputs)
    return await call(inputs)


def _has_handlers(callbacks: Any) -> bool:
    """Whether a config's callbacks would see a tool run (LangGraph always passes a
    manager; it usually has no handlers)."""
    if callbacks is None:
        return False
    if isinstance(callbacks, list):
        return bool(callbacks)
    return bool(
        getattr(callbacks, "handlers", True) or getattr(callbacks, "inheritable_handlers", True)
    )


def tools_in_module(module: ModuleType) -> list[BaseTool]:
    """Every `BaseTool` instance at module level."""
    return [value for value in vars(module).values() if isinstance(value, BaseTool)]


class ToolRegistry:
    """Tools by name. Later registrations of a name replace earlier ones."""

    def __init__(self, tools: Iterable[BaseTool] = ()) -> None:
        self._tools: dict[str, BaseTool] = {}
        for item in tools:
            self.register(item)

    def register(self, item: BaseTool) -> None:
        self._tools[item.name] = item

    def get(self, name: str) -> BaseTool | None:
        return self._tools.get(name)

    def names(self) -> list[str]:
        return sorted(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    @classmethod
    def standard(cls, modules: Iterable[str] = (), *, demo: bool = True) -> ToolRegistry:
        """Built-ins, the demo tools, the operator's modules, then the entry-point group.

        Modules come from the server's own configuration, never from a request.
        """
        registry = cls(BUILTIN_TOOLS)
        if demo:
            from graphs import demo_tools

            for item in tools_in_module(demo_tools):
                registry.register(item)
        for name in modules:
            for item in tools_in_module(importlib.import_module(name.strip())):
                registry.register(item)
        for point in entry_points(group=ENTRY_POINT_GROUP):
            loaded = point.load()
            found = tools_in_module(loaded) if isinstance(loaded, ModuleType) else [loaded]
            for item in found:
                if isinstance(item, BaseTool):
                    registry.register(item)
        return registry
