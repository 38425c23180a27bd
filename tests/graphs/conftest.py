"""Fixtures for the engine tests: a registry with the test tools, a real SQLite checkpointer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from graphs_testkit import make_registry
from langgraph.checkpoint.base import BaseCheckpointSaver

from checkpoints import open_checkpointer
from graphs.registry import Registry


@pytest.fixture
def registry() -> Registry:
    return make_registry()


@pytest.fixture
def log(tmp_path: Path) -> Path:
    """The side-effect file the test tools append to."""
    return tmp_path / "side-effects.log"


@pytest.fixture
async def saver(tmp_path: Path) -> AsyncIterator[BaseCheckpointSaver[Any]]:
    async with open_checkpointer(str(tmp_path / "cp.sqlite")) as opened:
        yield opened
