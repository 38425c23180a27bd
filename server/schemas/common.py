"""Shared models: the error body, and the `responses=` helper that documents errors."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from pydantic import BaseModel, ConfigDict, Field

# The largest offset, version or event id a request may carry. Beyond 2**63 the database
# fails instead of answering 422; 2**53 - 1 is also the largest integer a JSON Schema
# `maximum` (a double) and a JavaScript client hold exactly.
MAX_INT_PARAM = 2**53 - 1

_DESCRIPTIONS = {
    400: "Not possible in the resource's current state, or a body that cannot be read",
    401: "Missing or unknown bearer token",
    403: "The key lacks the needed role",
    404: "No such resource (also: a project the key does not belong to)",
    409: "Conflicts with an existing resource or its state",
    413: "Request body too large",
    422: "Invalid request or definition",
}


class ErrorBody(BaseModel):
    """Every error response has this shape."""

    error: str = Field(description="snake_case error code", examples=["not_found"])
    message: str = Field(description="One readable sentence")
    details: dict[str, Any] = Field(default_factory=dict)


class Schema(BaseModel):
    """Base of response models that are built from ORM rows."""

    model_config = ConfigDict(from_attributes=True)


def error_responses(*status_codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for these error statuses (401 and 422 are always there)."""
    codes = sorted({401, 422, *status_codes})
    return {code: {"model": ErrorBody, "description": _DESCRIPTIONS[code]} for code in codes}


def document_parameters_plainly(app: FastAPI) -> None:
    """Document optional query and header parameters as their own type, not as nullable.

    `x: int | None = None` comes out as `anyOf: [integer, null]`, but a query string or a
    header cannot carry a JSON null (`?version=null` is the text "null"): leaving the
    parameter out is how a client says None, so `null` is dropped from their schemas.
    """
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    for parameter in operation.get("parameters", []):
                        _drop_null(parameter.get("schema", {}))
        return app.openapi_schema or build()

    app.openapi = openapi  # type: ignore[method-assign]


def _drop_null(schema: dict[str, Any]) -> None:
    options = schema.get("anyOf")
    if not isinstance(options, list) or {"type": "null"} not in options:
        return
    rest = [option for option in options if option != {"type": "null"}]
    del schema["anyOf"]
    if len(rest) == 1:
        schema.update(rest[0])
    else:
        schema["anyOf"] = rest
