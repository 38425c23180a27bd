"""Pure-ASGI middleware: request-body limit, catch-all 500, request counting for /metrics."""

from __future__ import annotations

import logging

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.errors import error_response
from server.metrics import Metrics

logger = logging.getLogger("graphyard.server")


class BodyTooLarge(HTTPException):
    """Raised while reading a body that outgrows the limit.

    It is an HTTPException on purpose: FastAPI turns any other exception raised while it
    reads a body into a 400, but re-raises HTTPException, which our handler renders as 413.
    """

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"request body is larger than {limit} bytes")


class BodyLimitMiddleware:
    """Refuse bodies over `max_bytes`: by Content-Length up front, and while reading."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = Headers(scope=scope).get("content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            message = f"request body is larger than {self.max_bytes} bytes"
            await error_response(413, "payload_too_large", message)(scope, receive, send)
            return
        # Content-Length can be absent (chunked) or lie, so count what actually arrives.
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise BodyTooLarge(self.max_bytes)
            return message

        await self.app(scope, limited_receive, send)


class CatchAllMiddleware:
    """Turn any unhandled exception into a bare 500 body; the details go to the log only."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            logger.exception("unhandled error on %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise  # too late for a clean body; let the server drop the connection
            response = error_response(500, "internal_error", "internal server error")
            await response(scope, receive, send)


class RequestCountMiddleware:
    """Count finished HTTP requests by method and status for `/metrics`."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            self.metrics.count_request(str(scope.get("method", "")), status)
