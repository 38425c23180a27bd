"""Helpers for tests that talk to real server processes (tests/e2e, tests/drills)."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any


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
