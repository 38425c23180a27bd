"""Test tools for the end-to-end suite, written into each server's directory as `e2e_tools.py`.

The server imports the copy through GRAPHYARD_TOOL_MODULES. Every side effect lands in
files under GRAPHYARD_E2E_DIR, so a test can see (from outside the server process, and
across kill -9 and restarts) which nodes really did their work and how often. Each line of
`effects.log` is "<tag> <name>"; the tag is the test's own, passed in the run input.
"""

import asyncio
import os
from pathlib import Path
from typing import Any

from langchain_core.tools import tool

import graphs

ROOT = Path(os.environ["GRAPHYARD_E2E_DIR"])
FLAGS = ROOT / "flags"
COUNTERS = ROOT / "counters"
MAX_BLOCK_SECONDS = 120.0


def note(tag: str, text: str) -> None:
    """Append one side effect (closed at once: it survives a kill -9 of the server)."""
    with (ROOT / "effects.log").open("a") as handle:
        handle.write(f"{tag} {text}\n")


def flag_exists(tag: str, name: str) -> bool:
    return (FLAGS / f"{tag}.{name}").exists()


def count_call(tag: str, name: str) -> int:
    """How many times this (tag, name) has been called, this call included."""
    COUNTERS.mkdir(exist_ok=True)
    path = COUNTERS / f"{tag}.{name}"
    calls = int(path.read_text()) + 1 if path.exists() else 1
    path.write_text(str(calls))
    return calls


@tool
async def record(tag: str, name: str, seconds: float = 0.0) -> dict[str, Any]:
    """Wait `seconds` (cancellable), then record `name` as done."""
    if seconds:
        await asyncio.sleep(seconds)
    note(tag, name)
    return {"name": name}


@tool
async def block(tag: str, name: str) -> dict[str, Any]:
    """Record `<name>-start`, wait (cancellable) until flag `<tag>.<name>` exists, record `name`."""
    note(tag, f"{name}-start")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MAX_BLOCK_SECONDS
    while not flag_exists(tag, name):
        if loop.time() > deadline:
            raise graphs.HardError(f"flag {tag}.{name} never came")
        await asyncio.sleep(0.05)
    note(tag, name)
    return {"name": name, "unblocked": True}


@tool
async def flaky(tag: str, name: str, failures: int) -> dict[str, Any]:
    """Fail retryably on the first `failures` calls, then succeed."""
    calls = count_call(tag, name)
    if calls <= failures:
        note(tag, f"{name}-fail")
        raise graphs.RetryableError(f"{name} failed on call {calls}")
    note(tag, name)
    return {"name": name, "calls": calls}


@tool
async def always_retryable(tag: str, name: str) -> dict[str, Any]:
    """Always fail with a retryable error."""
    note(tag, f"{name}-fail")
    raise graphs.RetryableError(f"{name} is down")


@tool
async def hard_fail(tag: str, name: str) -> dict[str, Any]:
    """Fail with a hard error, which no retry can help."""
    note(tag, f"{name}-fail")
    raise graphs.HardError(f"{name} cannot work", code="broken_tool")


@tool
async def needs_flag(tag: str, name: str) -> dict[str, Any]:
    """Fail hard unless flag `<tag>.<name>` exists; then record `name`."""
    if not flag_exists(tag, name):
        note(tag, f"{name}-fail")
        raise graphs.HardError(f"{name} has no flag yet")
    note(tag, name)
    return {"name": name}


@tool
async def progress(tag: str, name: str, steps: int = 3) -> dict[str, Any]:
    """Report progress `steps` times while working, then record `name`."""
    for step in range(1, steps + 1):
        graphs.report_progress({"step": step, "of": steps})
        await asyncio.sleep(0.02)
    note(tag, name)
    return {"name": name, "steps": steps}
