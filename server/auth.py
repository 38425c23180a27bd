"""Bearer-token principals: the server admin token and hashed, role-carrying project keys."""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from server.crud.projects import authenticate_key, get_project
from server.deps import SessionDep
from server.errors import Forbidden, NotFound, Unauthorized
from server.statuses import Role


@dataclass(frozen=True)
class Principal:
    """Who is calling: the admin (every project) or a key of one project with one role."""

    is_admin: bool
    project_id: str | None = None
    role: Role | None = None
    key_id: str | None = None
    key_name: str | None = None

    @property
    def actor(self) -> str:
        """A readable name for audit fields such as a gate's `decided_by`."""
        return "admin" if self.is_admin else f"key:{self.key_name}"

    def may(self, needed: Role) -> bool:
        """True when this principal holds `needed` (the admin holds every role)."""
        return self.is_admin or (self.role is not None and self.role.includes(needed))


def _bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("missing bearer token (Authorization: Bearer <token>)")
    return token.strip()


# Only for the OpenAPI document (it declares the bearer scheme on every route that needs a
# token); the header itself is read by `_bearer_token`, which answers 401 in our own words.
_BEARER_SCHEME = HTTPBearer(auto_error=False, description="A project key or the admin token")
BearerDoc = Annotated[HTTPAuthorizationCredentials | None, Depends(_BEARER_SCHEME)]


async def get_principal(request: Request, session: SessionDep, _: BearerDoc) -> Principal:
    """Authenticate the request; 401 when the token is missing or unknown."""
    token = _bearer_token(request)
    admin_token: str = request.app.state.admin_token
    if hmac.compare_digest(token.encode(), admin_token.encode()):
        return Principal(is_admin=True)
    key = await authenticate_key(session, token)
    if key is None:
        raise Unauthorized("unknown or revoked token")
    return Principal(
        is_admin=False,
        project_id=key.project_id,
        role=Role(key.role),
        key_id=key.id,
        key_name=key.name,
    )


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def require_admin(principal: PrincipalDep) -> Principal:
    """Only the server admin token passes (creating projects)."""
    if not principal.is_admin:
        raise Forbidden("this needs the server admin token")
    return principal


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """Dependency for `/api/projects/{pid}/...` routes: the caller must hold `role` in `pid`.

    A key of another project gets 404, exactly as for a project that does not exist.
    """

    async def check_project_role(
        principal: PrincipalDep,
        session: SessionDep,
        pid: Annotated[str, Path(description="Project id")],
    ) -> Principal:
        if principal.is_admin:
            if await get_project(session, pid) is None:
                raise NotFound(f"project '{pid}' not found")
            return principal
        if principal.project_id != pid:
            raise NotFound(f"project '{pid}' not found")
        if not principal.may(role):
            raise Forbidden(f"this needs the '{role.value}' role (the key has '{principal.role}')")
        return principal

    check_project_role.__name__ = f"require_{role.value}"
    return check_project_role


AdminDep = Annotated[Principal, Depends(require_admin)]
Viewer = Annotated[Principal, Depends(require(Role.VIEWER))]
Approver = Annotated[Principal, Depends(require(Role.APPROVER))]
Operator = Annotated[Principal, Depends(require(Role.OPERATOR))]
Editor = Annotated[Principal, Depends(require(Role.EDITOR))]
ProjectAdmin = Annotated[Principal, Depends(require(Role.ADMIN))]
