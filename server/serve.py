"""`graphyard serve` and `graphyard db upgrade`: settings from flags and environment, clear
one-line errors (unwritable data directory, port in use, data directory already served)."""

from __future__ import annotations

import argparse
import fcntl
import importlib
import logging
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from typing import IO, Any

from pydantic import ValidationError

from server.settings import Settings

LOCK_NAME = "server.lock"


class StartupError(Exception):
    """A reason the server cannot start, said in one sentence."""


def settings_from_args(args: argparse.Namespace) -> Settings:
    overrides: dict[str, Any] = {}
    for name in ("host", "port", "data_dir", "workflows_dir"):
        value = getattr(args, name, None)
        if value is not None:
            overrides[name] = value
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        raise StartupError(f"invalid setting {field}: {first['msg']}") from exc


def prepare_data_dir(path: Path) -> None:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".write-test"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise StartupError(
            f"data directory {path} cannot be created or written: {exc.strerror or exc}"
        ) from exc


def lock_data_dir(path: Path) -> IO[str]:
    """Hold an exclusive lock on the data directory for the life of the process."""
    handle = open(path / LOCK_NAME, "a+")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        handle.close()
        raise StartupError(f"another Graphyard server is already using {path}") from exc
    handle.seek(0)
    handle.truncate()
    handle.write(str(os.getpid()))
    handle.flush()
    return handle


def check_sqlite_files(settings: Settings) -> None:
    """Open each SQLite file once, so that one that is not a database (or cannot be opened)
    is said in a sentence here, not in a traceback from inside the starting app."""
    from checkpoints import sqlite_path

    for what, url in (
        ("database", settings.db_url),
        ("checkpoint database", settings.checkpoint_url or ""),
    ):
        if not url.startswith("sqlite") or sqlite_path(url) == ":memory:":
            continue
        path = sqlite_path(url)
        try:
            conn = sqlite3.connect(path)
            try:
                conn.execute("PRAGMA schema_version").fetchone()  # reads the file's header
            finally:
                conn.close()
        except sqlite3.Error as exc:
            raise StartupError(f"{what} {path} cannot be opened: {exc}") from exc


def bind_socket(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio turns on TCP_NODELAY only for sockets that say so, and
    # without it small responses wait ~40 ms for delayed ACKs on keep-alive connections.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        reason = "is already in use" if exc.errno in (98, 48) else f"cannot be used: {exc.strerror}"
        raise StartupError(f"port {port} on {host} {reason}") from exc
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def check_startup_inputs(settings: Settings) -> None:
    """What the app would otherwise fail on, with a traceback, while starting: an admin
    token file that is empty or unreadable, and tool modules that cannot be imported."""
    token_file = settings.admin_token_file
    if settings.admin_token is None and token_file.exists():
        try:
            empty = not token_file.read_text().strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise StartupError(f"admin token file {token_file} cannot be read: {exc}") from exc
        if empty:
            raise StartupError(
                f"admin token file {token_file} is empty; delete it to have a new one generated"
            )
    if os.getcwd() not in sys.path:  # tool modules named by the operator may live here
        sys.path.insert(0, os.getcwd())
    for name in settings.tool_modules:
        try:
            importlib.import_module(name)
        except Exception as exc:
            raise StartupError(f"tool module {name!r} cannot be imported: {exc}") from exc


def _stopped(signum: int, frame: object) -> None:
    """Handler left in place after uvicorn's graceful shutdown: nothing more to do."""


def serve(args: argparse.Namespace) -> int:
    """Start the server; returns the exit code."""
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        settings = settings_from_args(args)
        prepare_data_dir(settings.data_dir)
        lock = lock_data_dir(settings.data_dir)
        check_sqlite_files(settings)
        check_startup_inputs(settings)
        sock = bind_socket(settings.host, settings.port)
    except StartupError as exc:
        print(f"graphyard: {exc}", file=sys.stderr)
        return 2
    # Imported only now: a server that cannot start says so at once, before the slow imports.
    import uvicorn

    from server.app import create_app

    app = create_app(settings)
    host, port = sock.getsockname()[:2]
    print(
        f"graphyard: serving on http://{host}:{port} (data in {settings.data_dir})",
        file=sys.stderr,
        flush=True,
    )
    config = uvicorn.Config(app, log_level="info", timeout_graceful_shutdown=10)
    # uvicorn shuts down gracefully on SIGTERM/SIGINT, then raises the signal again under
    # the handlers it found: with the defaults, a clean stop would end as "killed by
    # SIGTERM" (exit -15) or a KeyboardInterrupt traceback. Once stopped, stopping is done.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, _stopped)
    try:
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        lock.close()
    return 0


def db_upgrade(args: argparse.Namespace) -> int:
    """Apply migrations to the configured database."""
    from server.db.migrate import upgrade_database

    try:
        settings = settings_from_args(args)
        prepare_data_dir(settings.data_dir)
    except StartupError as exc:
        print(f"graphyard: {exc}", file=sys.stderr)
        return 2
    upgrade_database(settings.db_url)
    print(f"graphyard: database at {settings.db_url} is up to date", file=sys.stderr)
    return 0
