"""Load workflow files (YAML or JSON) from a folder into a project at start.

A team can keep workflows in git: a new file becomes a workflow, a changed file a new
version, an unchanged file nothing. Invalid files are reported in the log and skipped.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from graphs.errors import DefinitionError
from graphs.registry import Registry
from graphs.spec import parse_definition
from graphs.validate import validate_definition
from server.crud import workflows as crud
from server.errors import NotFound

logger = logging.getLogger("graphyard.loader")
PATTERNS = ("*.yaml", "*.yml", "*.json")
EXAMPLES_DIR = Path(__file__).resolve().parent.parent / "examples"


def _read(path: Path, registry: Registry) -> dict[str, Any] | None:
    try:
        raw = parse_definition(path.read_bytes(), "json" if path.suffix == ".json" else "yaml")
    except (OSError, DefinitionError) as exc:
        logger.warning("skipping %s: %s", path, exc)
        return None
    result = validate_definition(raw, registry)
    if not result.valid:
        problems = "; ".join(f"{i.path}: {i.code}: {i.message}" for i in result.issues[:5])
        logger.warning("skipping invalid workflow file %s: %s", path, problems)
        return None
    assert isinstance(raw, dict)
    return raw


async def load_workflow_dir(
    session: AsyncSession, project_id: str, folder: Path, registry: Registry
) -> list[str]:
    """Create or version the workflows in `folder`; returns the ids that changed."""
    changed: list[str] = []
    files = sorted(p for pattern in PATTERNS for p in folder.glob(pattern))  # noqa: ASYNC240 - at start, a few files
    for path in files:
        raw = _read(path, registry)
        if raw is None:
            continue
        try:
            _, latest = await crud.get_workflow(session, project_id, raw["id"])
        except NotFound:
            await crud.create_workflow(session, project_id, raw)
            changed.append(raw["id"])
            continue
        if latest.definition != raw:
            await crud.update_workflow(session, project_id, raw["id"], raw)
            changed.append(raw["id"])
    if changed:
        logger.info("loaded workflows from %s: %s", folder, ", ".join(changed))
    return changed
