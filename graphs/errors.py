"""Error types for tool authors and the engine: retryable vs hard failures."""

from __future__ import annotations

from typing import Any


class GraphyardError(Exception):
    """Base of the engine's own errors; carries a machine-readable `code`."""

    code = "error"

    def __init__(self, message: str, *, code: str | None = None, node_id: str | None = None):
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.node_id = node_id

    def as_dict(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message, "node_id": self.node_id}


class RetryableError(GraphyardError):
    """Raise from a tool when trying again later may succeed (rate limits, outages)."""

    code = "retryable_error"


class HardError(GraphyardError):
    """Raise from a tool when trying again cannot help; the node fails at once."""

    code = "hard_error"


class DefinitionError(GraphyardError):
    """A definition that cannot be read or that failed validation."""

    code = "invalid_workflow"

    def __init__(self, message: str, issues: list[Any] | None = None):
        super().__init__(message)
        self.issues = issues or []


class NodeFailed(GraphyardError):
    """A node failed for good (its attempts are used up, or the error was hard).

    `retryable` tells a run executor whether resuming the run later may succeed.
    """

    def __init__(
        self, node_id: str, code: str, message: str, *, retryable: bool, attempts: int
    ) -> None:
        super().__init__(message, code=code, node_id=node_id)
        self.retryable = retryable
        self.attempts = attempts


def is_retryable(exc: BaseException) -> bool:
    """Timeouts, connection errors, HTTP 429/5xx and `RetryableError` are worth retrying."""
    if isinstance(exc, RetryableError):
        return True
    if isinstance(exc, HardError):
        return False
    if isinstance(exc, TimeoutError | ConnectionError):
        return True
    try:
        import httpx
    except ImportError:  # pragma: no cover - httpx is a dependency
        return False
    if isinstance(exc, httpx.HTTPStatusError):
        status = exc.response.status_code
        return status == 429 or status >= 500
    return isinstance(exc, httpx.TransportError)
