"""Shared models: the error body, and the `responses=` helper that documents errors."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from graphs.spec import INT64_MAX

# The largest integer a query parameter may carry: SQLite stores nothing bigger, and a larger
# offset, version or event id would fail in the database instead of as a 422.
MAX_INT_PARAM = INT64_MAX

_DESCRIPTIONS = {
    400: "Not possible in the resource's current state",
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
