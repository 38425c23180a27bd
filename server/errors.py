"""Application errors and the one place that turns every error into the API.md JSON body."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

logger = logging.getLogger("graphyard.errors")

_HTTP_METHODS = ("get", "head", "post", "put", "patch", "delete", "options")
# Codes for errors Starlette raises itself (unknown route, wrong method, body limit).
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


class AppError(Exception):
    """A domain error with an HTTP status, a machine-readable code and details."""

    status_code: int = 500
    code: str = "internal_error"

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code
        self.details: dict[str, Any] = dict(details or {})


class BadRequest(AppError):
    """The request is well-formed but not acceptable in the current state."""

    status_code = 400
    code = "bad_request"


class Unauthorized(AppError):
    """Missing or unknown credentials."""

    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    """Known credentials without the needed role."""

    status_code = 403
    code = "forbidden"


class NotFound(AppError):
    """The resource does not exist (or the caller may not know that it does)."""

    status_code = 404
    code = "not_found"


class Conflict(AppError):
    """The resource exists already, or its state forbids the change."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(AppError):
    """The request body is larger than the server accepts."""

    status_code = 413
    code = "payload_too_large"


class Invalid(AppError):
    """The request content is invalid (a definition, an input, a field)."""

    status_code = 422
    code = "invalid_request"


def error_body(code: str, message: str, details: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The JSON error body every error response carries."""
    return {"error": code, "message": message, "details": dict(details or {})}


def error_response(
    status_code: int,
    code: str,
    message: str,
    details: Mapping[str, Any] | None = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    """A JSONResponse with the standard error body."""
    return JSONResponse(
        error_body(code, message, details), status_code=status_code, headers=headers
    )


async def _app_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    return error_response(exc.status_code, exc.code, exc.message, exc.details, headers)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    headers = exc.headers
    if exc.status_code == 404:
        message = f"no route for {request.method} {request.url.path}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
        allow = _allowed_methods(request, (headers or {}).get("Allow", ""))
        headers = {**(headers or {}), "Allow": allow}
    elif isinstance(exc.detail, str) and exc.detail:
        message = exc.detail
    else:
        message = HTTPStatus(exc.status_code).phrase
    return error_response(exc.status_code, code, message, headers=headers)


def _allowed_methods(request: Request, fallback: str) -> str:
    # Starlette names only the methods of the first route whose path matched, so
    # `/api/projects` would allow POST alone. The resource is the most literal documented
    # path that fits (`/workflows/runs` rather than `/workflows/{wid}`): list its methods.
    best: tuple[int, dict[str, Any]] | None = None
    for template, operations in request.app.openapi().get("paths", {}).items():
        pattern = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template)) + "$"
        if re.match(pattern, request.url.path):
            literal = len(re.sub(r"\{[^/]+?\}", "", template))
            if best is None or literal > best[0]:
                best = (literal, operations)
    if best is None:
        return fallback
    return ", ".join(method.upper() for method in best[1] if method in _HTTP_METHODS)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_problem(err) for err in exc.errors()]
    first = problems[0] if problems else {"loc": "", "message": "invalid request"}
    message = f"request is invalid: {first['loc']}: {first['message']}"
    return error_response(422, "invalid_request", message, {"errors": problems})


def _problem(err: Mapping[str, Any]) -> dict[str, Any]:
    # Only the location, text and type: `input`/`ctx` may hold secrets or unserialisable values.
    loc = ".".join(str(part) for part in err.get("loc", ()))
    return {"loc": loc, "message": str(err.get("msg", "")), "type": str(err.get("type", ""))}


def register_error_handlers(app: FastAPI) -> None:
    """Install the handlers; unexpected exceptions are handled by `CatchAllMiddleware`."""
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
