"""Startup drills (issue 4): a server that cannot start says why in one sentence, with no
traceback, and exits non-zero at once: a data directory that cannot be created or written
(tests run as root, so only paths that fail for root are used), a database file that is not
a database, an occupied port, a second server on the same data directory, a tool module
that cannot be imported, an empty admin token file, a bad setting."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
from drills_kit import MakeServer, base_env, run_cli
from proc_kit import free_port, serve_command

QUICK_SECONDS = 15.0  # the interpreter and imports on a busy 2-core machine; no waiting


def assert_one_sentence(code: int, output: str, took: float, *phrases: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert code != 0, output
    assert "Traceback" not in output, output
    assert len(lines) == 1, output
    line = lines[0]
    assert line.startswith("graphyard: "), line
    for phrase in phrases:
        assert phrase in line, line
    assert took < QUICK_SECONDS, f"took {took:.1f} s to give up"
    return line


def test_data_dir_under_a_regular_file_cannot_be_created(tmp_path: Path) -> None:
    (tmp_path / "plain-file").write_text("not a directory")
    data_dir = tmp_path / "plain-file" / "data"

    code, output, took = run_cli(serve_command(free_port(), data_dir), tmp_path, base_env())

    assert_one_sentence(code, output, took, str(data_dir), "cannot be created or written")
    assert not data_dir.exists()


def test_data_dir_that_root_cannot_write(tmp_path: Path) -> None:
    # sysfs takes no new files, not even from root: a directory that exists but is not writable.
    data_dir = Path("/sys/kernel")
    try:
        (data_dir / ".graphyard-probe").write_text("x")
    except OSError:
        pass
    else:  # pragma: no cover - a machine where sysfs is writable
        (data_dir / ".graphyard-probe").unlink()
        pytest.skip("/sys/kernel is writable here")

    code, output, took = run_cli(serve_command(free_port(), data_dir), tmp_path, base_env())

    assert_one_sentence(code, output, took, str(data_dir), "cannot be created or written")


def test_database_file_that_is_not_a_database(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "graphyard.db").write_bytes(b"\x00garbage, not SQLite\xff" * 300)

    code, output, took = run_cli(serve_command(free_port(), data_dir), tmp_path, base_env())

    assert_one_sentence(code, output, took, "graphyard.db", "cannot be opened")


def test_occupied_port(tmp_path: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]

        code, output, took = run_cli(serve_command(port, tmp_path / "data"), tmp_path, base_env())

    assert_one_sentence(code, output, took, f"port {port}", "already in use")


def test_second_server_on_the_same_data_dir(tmp_path: Path, make_server: MakeServer) -> None:
    first = make_server()
    first.start()

    code, output, took = run_cli(serve_command(free_port(), first.data_dir), tmp_path, first.env)

    assert_one_sentence(code, output, took, "another Graphyard server", str(first.data_dir))
    assert first.healthy()  # the first one is untouched


def test_tool_module_that_cannot_be_imported(tmp_path: Path) -> None:
    (tmp_path / "broken_tools.py").write_text("raise ImportError('half-written module')\n")
    for module in ("no_such_tools", "broken_tools"):
        env = base_env(GRAPHYARD_TOOL_MODULES=module)

        code, output, took = run_cli(serve_command(free_port(), tmp_path / "data"), tmp_path, env)

        assert_one_sentence(code, output, took, f"tool module {module!r} cannot be imported")


def test_empty_admin_token_file(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "admin_token").write_text("\n")
    env = base_env()
    del env["GRAPHYARD_ADMIN_TOKEN"]  # so the server reads the file

    code, output, took = run_cli(serve_command(free_port(), data_dir), tmp_path, env)

    assert_one_sentence(code, output, took, "admin token file", "is empty")


def test_invalid_setting(tmp_path: Path) -> None:
    env = base_env(GRAPHYARD_MAX_CONCURRENT_RUNS="lots")

    code, output, took = run_cli(serve_command(free_port(), tmp_path / "data"), tmp_path, env)

    assert_one_sentence(code, output, took, "invalid setting", "max_concurrent_runs")
