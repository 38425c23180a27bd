"""First-start setup: the server admin token, and a `default` project with an admin key."""

from __future__ import annotations

import logging
import os
import secrets
import stat

from sqlalchemy.ext.asyncio import AsyncSession

from server.crud.projects import count_projects, create_api_key, create_project
from server.errors import Conflict
from server.settings import Settings
from server.statuses import Role

logger = logging.getLogger("graphyard.bootstrap")

DEFAULT_PROJECT = "default"


def load_or_create_admin_token(settings: Settings) -> str:
    """The admin token: from settings, else from `<data_dir>/admin_token`, else a new one.

    A new token is written with mode 0600 and printed once; later starts read the file.
    """
    if settings.admin_token is not None:
        return settings.admin_token.get_secret_value()
    path = settings.admin_token_file
    if path.exists():
        if stat.S_IMODE(path.stat().st_mode) & 0o077:
            logger.warning("%s is readable by other users; chmod 600 it", path)
        token = path.read_text().strip()
        if token:
            return token
        raise RuntimeError(f"{path} is empty; delete it to have a new admin token generated")
    token = f"gy_admin_{secrets.token_urlsafe(32)}"
    path.parent.mkdir(parents=True, exist_ok=True)
    # O_EXCL: never overwrite a token another process wrote a moment ago; the mode is given
    # at creation so the secret is never readable by others, whatever the umask.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    logger.warning("Generated the server ADMIN TOKEN (shown once, kept in %s): %s", path, token)
    return token


async def bootstrap_database(session: AsyncSession) -> str | None:
    """On an empty database create project `default` and an admin key; return that key.

    Returns None when there are projects already. The caller commits.
    """
    if await count_projects(session) > 0:
        return None
    try:
        await create_project(session, DEFAULT_PROJECT, "Default project")
    except Conflict:  # another server process on the same database got there first
        await session.rollback()
        return None
    _, token = await create_api_key(session, DEFAULT_PROJECT, "bootstrap", Role.ADMIN)
    logger.warning(
        "Created project '%s' and its admin API key (shown once, store it now): %s",
        DEFAULT_PROJECT,
        token,
    )
    return token
