"""Helpers for tests that talk to real server processes (tests/e2e, tests/drills)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Event:
    """One SSE event as received: the `id:` and `event:` lines and the parsed `data:`."""

    id: int | None
    event: str | None
    data: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.data.get("type"))


def parse_sse(lines: Iterator[str]) -> Iterator[Event]:
    """Events of a text/event-stream; comments (`: keep-alive`) are skipped."""
    fields: dict[str, str] = {}
    data: list[str] = []
    for line in lines:
        if line == "":
            if data:
                ident = fields.get("id")
                yield Event(
                    int(ident) if ident else None, fields.get("event"), json.loads("\n".join(data))
                )
            fields, data = {}, []
            continue
        if line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            data.append(value)
        else:
            fields[name] = value


def wait_until(
    check: Callable[[], Any], timeout: float, describe: Callable[[], str], every: float = 0.05
) -> Any:
    """Call `check` until it returns something truthy (returned); fail after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"after {timeout} s: {describe()}")
        time.sleep(every)


START_TIMEOUT = 40.0
STOP_TIMEOUT = 15.0


def serve_command(port: int, data_dir: Path | str) -> list[str]:
    """`graphyard serve` on 127.0.0.1:`port` with its data in `data_dir`."""
    return [
        sys.executable,
        "-m",
        "server.cli",
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--data-dir",
        str(data_dir),
    ]


def server_env(token: str, **extra: str) -> dict[str, str]:
    """The environment of a server process: no GRAPHYARD_* of the caller, a known token."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GRAPHYARD_")}
    env.update(
        {
            "GRAPHYARD_ADMIN_TOKEN": token,
            "GRAPHYARD_LOAD_EXAMPLES": "false",
            "PYTHONUNBUFFERED": "1",
        }
    )
    env.update(extra)
    return env


class ServerProcess:
    """One `graphyard serve` process at a time, in its own directory (its cwd, holding the
    test tools module and flag files) and data directory. `start()` again runs a new
    process on the same data. Subclasses name the token and the tools module and add
    their HTTP helpers."""

    TOKEN = ""
    TOOLS_MODULE = ""
    TOOLS_SOURCE: Path
    DIR_ENV = ""  # the variable that tells the tools module where to write
    LABEL = "server"

    def __init__(self, root: Path, env: dict[str, str] | None = None) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        (root / f"{self.TOOLS_MODULE}.py").write_text(self.TOOLS_SOURCE.read_text())
        (root / "flags").mkdir(exist_ok=True)
        self.data_dir = root / "data"
        self.log_path = root / "server.log"
        self.port = free_port()
        self.env = server_env(
            self.TOKEN,
            GRAPHYARD_TOOL_MODULES=self.TOOLS_MODULE,
            **{self.DIR_ENV: str(root)},
            **(env or {}),
        )
        self.proc: subprocess.Popen[bytes] | None = None
        self.client: httpx.Client | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        """Start a server process and wait until /healthz answers."""
        assert self.proc is None or self.proc.poll() is not None, "already running"
        with self.log_path.open("ab") as log:
            log.write(f"\n===== {self.LABEL}: server start =====\n".encode())
            log.flush()
            self.proc = subprocess.Popen(
                serve_command(self.port, self.data_dir),
                cwd=self.root,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        else:
            self.kill()
            raise AssertionError(f"server not healthy within {START_TIMEOUT} s:\n{self.log()}")
        self.client = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.TOKEN}"}, timeout=30
        )

    def _close_client(self) -> None:
        if self.client is not None:
            self.client.close()
            self.client = None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM and wait for the exit; returns the exit code (fails after `timeout`)."""
        self._close_client()
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                raise AssertionError(f"server did not exit within {timeout} s of SIGTERM") from None
        return int(self.proc.returncode)

    def kill(self) -> None:
        """SIGKILL: the process dies at once, mid-work."""
        self._close_client()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def shutdown(self) -> None:
        """Teardown: stop the process if it still runs (SIGTERM, else SIGKILL)."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.stop()
            except AssertionError:
                self.kill()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    @property
    def http(self) -> httpx.Client:
        assert self.client is not None, "server is not running"
        return self.client


SERVERS_USED = pytest.StashKey[list["ServerProcess"]]()


def used_by(request: pytest.FixtureRequest, instance: ServerProcess) -> None:
    """Note that the test uses `instance`: on a failure its log tail joins the report
    (the hook is in tests/conftest.py)."""
    request.node.stash.setdefault(SERVERS_USED, []).append(instance)
