"""The LangGraph node that wraps every definition node: liveness, `when`, retries, timeouts,
failure handling and the node's record in the state."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from langgraph.config import get_stream_writer
from langgraph.errors import GraphBubbleUp
from langgraph.types import interrupt

from graphs.errors import GraphyardError, HardError, NodeFailed, is_retryable
from graphs.expressions import ExpressionError, compile_expression
from graphs.nodes import NODE_KINDS, NodeContext
from graphs.nodes.base import node_key, state_scope
from graphs.nodes.human_gate import decision_output
from graphs.registry import Registry
from graphs.spec import EdgeSpec, NodeSpec, SettingsSpec


def utc_now() -> str:
    return datetime.now(UTC).isoformat()


def error_code(exc: BaseException) -> str:
    if isinstance(exc, GraphyardError):
        return exc.code
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ExpressionError):
        return "expression_error"
    return "node_error"


def error_message(exc: BaseException, node: NodeSpec) -> str:
    if isinstance(exc, TimeoutError) and not str(exc):
        return f"node {node.id!r} took longer than {node.timeout_seconds} s"
    if isinstance(exc, GraphyardError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def is_live_record(record: dict[str, Any], target: str) -> bool:
    """Does a finished predecessor's record let the edge to `target` carry on?"""
    status = record.get("status")
    done = (
        status == "COMPLETED"
        or (status == "SKIPPED" and record.get("skip_reason") == "when")
        or (status == "FAILED" and bool(record.get("continued")))
    )
    branches = record.get("branches")
    return done and (branches is None or target in branches)


class NodeRunner:
    """Runs one definition node inside LangGraph and returns `{"n:<id>": record}`."""

    def __init__(
        self,
        node: NodeSpec,
        settings: SettingsSpec,
        registry: Registry,
        incoming: list[EdgeSpec],
        outgoing: list[EdgeSpec],
    ) -> None:
        self.node = node
        self.settings = settings
        self.registry = registry
        self.incoming = incoming
        self.outgoing = outgoing
        self.key = node_key(node.id)
        self.kind = NODE_KINDS[node.type]
        self.when = compile_expression(node.when) if node.when is not None else None
        self.defaults = [e.target for e in outgoing if e.default]

    def _live(self, state: dict[str, Any]) -> bool:
        if not self.incoming:
            return True
        return any(
            is_live_record(state.get(node_key(e.source)) or {}, self.node.id) for e in self.incoming
        )

    def _skipped(self, reason: str) -> dict[str, Any]:
        record: dict[str, Any] = {
            "status": "SKIPPED",
            "skip_reason": reason,
            "output": None,
            "attempts": 0,
            "finished_at": utc_now(),
        }
        if self.node.type == "condition":
            record["branches"] = self.defaults
        return {self.key: record}

    async def __call__(self, state: dict[str, Any]) -> dict[str, Any]:
        if not self._live(state):
            return self._skipped("branch")
        if self.when is not None:
            try:
                go = self.when.evaluate(state_scope(state))
            except ExpressionError as exc:
                return self._failure(exc, 0, utc_now())
            if not go:
                return self._skipped("when")
        if self.node.type == "human_gate":
            return await self._open_gate(state)
        return await self._execute(state)

    def _context(self, state: dict[str, Any], emit: Any) -> NodeContext:
        return NodeContext(
            self.node, state, self.registry, emit, [e.source for e in self.incoming], self.outgoing
        )

    async def _open_gate(self, state: dict[str, Any]) -> dict[str, Any]:
        payload = await self.kind(self._context(state, lambda *_: None))
        return {
            self.key: {
                "status": "WAITING",
                "payload": payload,
                "output": None,
                "attempts": 0,
                "started_at": utc_now(),
            }
        }

    async def decide(self, state: dict[str, Any]) -> dict[str, Any]:
        """The deferred half of a gate: wait for the decision (an interrupt), then finish."""
        record = state.get(self.key) or {}
        if record.get("status") != "WAITING":
            return {}
        answer = interrupt(record.get("payload"))
        try:
            output = decision_output(self.node.id, self.node.on_reject, answer)
        except HardError as exc:
            return self._failure(exc, 1, record.get("started_at") or utc_now())
        return {
            self.key: {
                **record,
                "status": "COMPLETED",
                "output": output,
                "attempts": 1,
                "finished_at": utc_now(),
            }
        }

    async def _execute(self, state: dict[str, Any]) -> dict[str, Any]:
        writer = get_stream_writer()
        node_id = self.node.id

        def emit(event_type: str, data: dict[str, Any]) -> None:
            writer({"type": event_type, "node_id": node_id, **data})

        policy = self.node.retry_policy
        started = utc_now()
        attempt = 0
        while True:
            attempt += 1
            ctx = self._context(state, emit)
            emit("node.started", {"attempt": attempt})
            try:
                output = await self._attempt(ctx)
            except (GraphBubbleUp, asyncio.CancelledError):
                raise
            except Exception as exc:  # a node's own failure, handled by its policy
                retry = is_retryable(exc)
                if retry and attempt < policy.max_attempts:
                    delay = policy.delay(attempt)
                    emit(
                        "node.retrying",
                        {
                            "attempt": attempt + 1,
                            "delay_seconds": delay,
                            "error": error_message(exc, self.node),
                        },
                    )
                    await asyncio.sleep(delay)
                    continue
                return self._failure(exc, attempt, started)
            record = {
                "status": "COMPLETED",
                "output": output,
                "attempts": attempt,
                "started_at": started,
                "finished_at": utc_now(),
                **ctx.extra,
            }
            if ctx.usage:
                record["usage"] = ctx.usage
            return {self.key: record}

    async def _attempt(self, ctx: NodeContext) -> Any:
        timeout = self.node.timeout_seconds
        if timeout is None:
            return await self.kind(ctx)
        return await asyncio.wait_for(self.kind(ctx), timeout)

    def _failure(self, exc: BaseException, attempts: int, started: str) -> dict[str, Any]:
        code, message = error_code(exc), error_message(exc, self.node)
        continued = self.node.continues_on_failure
        if not continued and self.settings.stop_on_failure:
            raise NodeFailed(
                self.node.id, code, message, retryable=is_retryable(exc), attempts=attempts
            ) from exc
        record: dict[str, Any] = {
            "status": "FAILED",
            "output": None,
            "attempts": attempts,
            "started_at": started,
            "finished_at": utc_now(),
            "continued": continued,
            "error": {"code": code, "message": message, "node_id": self.node.id},
        }
        if self.node.type == "condition":
            record["branches"] = self.defaults
        return {self.key: record}
