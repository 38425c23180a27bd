"""Fixtures for end-to-end tests: real `graphyard serve` processes on tmp directories.

`server` is one process per test module (tests there share it and keep apart by tags);
`make_server` builds extra ones with their own environment for tests that kill, restart
or configure the server. Every process started here is stopped at teardown.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from e2e_kit import Server, new_tag

MakeServer = Callable[..., Server]


def _shutdown(server: Server) -> None:
    if server.proc is not None and server.proc.poll() is None:
        try:
            server.stop()
        except AssertionError:
            server.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A running server shared by the tests of one module."""
    instance = Server(tmp_path_factory.mktemp("server"))
    instance.start()
    yield instance
    _shutdown(instance)


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[MakeServer]:
    """Factory: a server (not yet started) in tmp_path/<name> with extra GRAPHYARD_* env."""
    made: list[Server] = []

    def make(name: str = "srv", **env: str) -> Server:
        instance = Server(tmp_path / name, env)
        made.append(instance)
        return instance

    yield make
    for instance in made:
        _shutdown(instance)


@pytest.fixture
def tag() -> str:
    """A fresh tag: names this test's side effects, flags and workflow ids."""
    return new_tag()
