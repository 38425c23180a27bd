"""Fixtures for end-to-end tests: real `graphyard serve` processes on tmp directories.

`server` is one process for the whole session (tests share it and keep apart by tags);
`make_server` builds extra ones with their own environment for tests that kill, restart
or configure the server. Every process started here is stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from e2e_kit import MakeServer, Server, new_tag, shutdown
from proc_kit import used_by


@pytest.fixture(autouse=True)
def _note_shared_server(request: pytest.FixtureRequest) -> None:
    if "server" in request.fixturenames:
        used_by(request, request.getfixturevalue("server"))


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A running server with the default settings, shared by every test that asks for it."""
    instance = Server(tmp_path_factory.mktemp("server"))
    instance.start()
    yield instance
    shutdown(instance)


@pytest.fixture
def make_server(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[MakeServer]:
    """Factory: a server (not yet started) in tmp_path/<name> with extra GRAPHYARD_* env."""
    made: list[Server] = []

    def make(name: str = "srv", **env: str) -> Server:
        instance = Server(tmp_path / name, env)
        made.append(instance)
        used_by(request, instance)
        return instance

    yield make
    for instance in made:
        shutdown(instance)


@pytest.fixture
def tag() -> str:
    """A fresh tag: names this test's side effects, flags and workflow ids."""
    return new_tag()
