"""Fixtures for the reliability drills: real server processes on tmp directories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from drills_kit import DrillServer, MakeServer
from proc_kit import used_by


@pytest.fixture
def make_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[MakeServer]:
    """Factory: a server (not yet started) in tmp_path/<name> with extra GRAPHYARD_* env."""
    made: list[DrillServer] = []

    def make(name: str = "srv", **env: str) -> DrillServer:
        instance = DrillServer(tmp_path / name, env)
        made.append(instance)
        used_by(request, instance)
        return instance

    yield make
    for instance in made:
        instance.shutdown()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DrillServer]:
    """One running server for a module's drills (they keep apart by project and tag)."""
    instance = DrillServer(tmp_path_factory.mktemp("drill-server"))
    instance.start()
    yield instance
    instance.shutdown()


@pytest.fixture
def server(shared_server: DrillServer, request: pytest.FixtureRequest) -> DrillServer:
    used_by(request, shared_server)
    return shared_server
