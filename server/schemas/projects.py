"""Projects and API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from server.schemas.common import Schema
from server.statuses import Role

ID_PATTERN = r"^[a-z][a-z0-9_-]{0,63}$"


class ProjectCreate(BaseModel):
    """A new project; `name` defaults to the id."""

    id: str = Field(pattern=ID_PATTERN, examples=["acme"])
    name: str | None = Field(None, min_length=1, max_length=200, examples=["Acme"])


class ProjectOut(Schema):
    """A project."""

    id: str
    name: str
    created_at: datetime


class ProjectList(BaseModel):
    """Projects the caller may see."""

    items: list[ProjectOut]


class ApiKeyCreate(BaseModel):
    """A new project key."""

    name: str = Field(min_length=1, max_length=200, examples=["ci"])
    role: Role = Field(examples=["operator"])


class ApiKeyOut(Schema):
    """A project key, without its secret."""

    id: str
    name: str
    role: Role
    created_at: datetime


class ApiKeyCreated(ApiKeyOut):
    """A new key with its secret, which is shown only this once."""

    key: str = Field(description="The bearer token; store it now, it cannot be shown again")


class ApiKeyList(BaseModel):
    """A project's keys."""

    items: list[ApiKeyOut]
