"""Fixtures for the reliability drills: real server processes on tmp directories."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from drills_kit import DrillServer, MakeServer

SERVERS = pytest.StashKey[list[DrillServer]]()
LOG_TAIL_LINES = 60


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """On a failure, show the end of the log of every server the test used."""
    report = yield
    if report.failed:
        for instance in item.stash.get(SERVERS, []):
            tail = "\n".join(instance.log().splitlines()[-LOG_TAIL_LINES:])
            report.sections.append((f"server log ({instance.root})", tail))
    return report


@pytest.fixture
def make_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[MakeServer]:
    """Factory: a server (not yet started) in tmp_path/<name> with extra GRAPHYARD_* env."""
    made: list[DrillServer] = []

    def make(name: str = "srv", **env: str) -> DrillServer:
        instance = DrillServer(tmp_path / name, env)
        made.append(instance)
        request.node.stash.setdefault(SERVERS, []).append(instance)
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
    request.node.stash.setdefault(SERVERS, []).append(shared_server)
    return shared_server
