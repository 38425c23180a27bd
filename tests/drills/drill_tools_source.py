"""Test tools for the drills, copied into each drill server's directory as `drill_tools.py`.

The server imports the copy through GRAPHYARD_TOOL_MODULES. Side effects go to files under
GRAPHYARD_DRILL_DIR, written and closed at once, so a test sees from outside the server,
and across kill -9 and restarts, which nodes really did their work and how often. Each line
of `effects.log` is "<tag> <name>"; the tag is the test's own, passed in the run input.
"""

import asyncio
import os
from pathlib import Path
from typing import Any

from langchain_core.tools import tool

import graphs

ROOT = Path(os.environ["GRAPHYARD_DRILL_DIR"])
FLAGS = ROOT / "flags"
MAX_BLOCK_SECONDS = 120.0


def note(tag: str, text: str) -> None:
    with (ROOT / "effects.log").open("a") as handle:
        handle.write(f"{tag} {text}\n")


@tool
async def record(tag: str, name: str, seconds: float = 0.0) -> dict[str, Any]:
    """Wait `seconds` (cancellable), then record `name` as done."""
    if seconds:
        await asyncio.sleep(seconds)
    note(tag, name)
    return {"name": name}


@tool
async def block(tag: str, name: str) -> dict[str, Any]:
    """Record `<name>-start`, wait until flag file `<tag>.<name>` exists, record `name`."""
    note(tag, f"{name}-start")
    loop = asyncio.get_running_loop()
    deadline = loop.time() + MAX_BLOCK_SECONDS
    while not (FLAGS / f"{tag}.{name}").exists():
        if loop.time() > deadline:
            raise graphs.HardError(f"flag {tag}.{name} never came")
        await asyncio.sleep(0.05)
    note(tag, name)
    return {"name": name}
