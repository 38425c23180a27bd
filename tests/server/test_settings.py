"""Settings: defaults, derived URLs, the GRAPHYARD_ environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.settings import Settings


def test_defaults_derive_urls_from_data_dir(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "d")
    assert settings.data_dir == (tmp_path / "d").resolve()
    assert settings.database_url == f"sqlite+aiosqlite:///{tmp_path / 'd' / 'graphyard.db'}"
    assert settings.checkpoint_url == f"sqlite:///{tmp_path / 'd' / 'checkpoints.sqlite'}"
    assert settings.admin_token is None and settings.tool_modules == []
    assert settings.load_examples is True and settings.workflows_dir is None
    assert (settings.max_concurrent_runs, settings.max_run_retries) == (16, 5)
    assert settings.retry_base_seconds == 5
    assert (settings.host, settings.port) == ("127.0.0.1", 8000)
    assert settings.max_body_bytes == 1024 * 1024


def test_relative_data_dir_is_made_absolute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = Settings()
    assert settings.data_dir == tmp_path / "data"
    assert str(tmp_path / "data" / "graphyard.db") in settings.db_url


def test_explicit_urls_are_kept(tmp_path: Path) -> None:
    settings = Settings(
        data_dir=tmp_path,
        database_url="postgresql+asyncpg://u:p@db/gy",
        checkpoint_url="postgresql://u:p@db/gy",
    )
    assert settings.db_url == "postgresql+asyncpg://u:p@db/gy"
    assert settings.checkpoint_url == "postgresql://u:p@db/gy"


def test_environment_with_prefix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRAPHYARD_DATA_DIR", str(tmp_path / "env"))
    monkeypatch.setenv("GRAPHYARD_TOOL_MODULES", "my.tools, other.tools ,,")
    monkeypatch.setenv("GRAPHYARD_ADMIN_TOKEN", "t0ps3cret")
    monkeypatch.setenv("GRAPHYARD_LOAD_EXAMPLES", "false")
    monkeypatch.setenv("GRAPHYARD_MAX_CONCURRENT_RUNS", "4")
    monkeypatch.setenv("GRAPHYARD_MAX_BODY_BYTES", "2048")
    settings = Settings()
    assert settings.data_dir == tmp_path / "env"
    assert settings.tool_modules == ["my.tools", "other.tools"]
    assert settings.admin_token is not None
    assert settings.admin_token.get_secret_value() == "t0ps3cret"
    assert "t0ps3cret" not in repr(settings)  # the secret does not leak into logs
    assert settings.load_examples is False
    assert settings.max_concurrent_runs == 4 and settings.max_body_bytes == 2048


def test_tool_modules_as_list(tmp_path: Path) -> None:
    assert Settings(data_dir=tmp_path, tool_modules=["a"]).tool_modules == ["a"]
    assert Settings(data_dir=tmp_path, tool_modules="a,b").tool_modules == ["a", "b"]  # type: ignore[arg-type]
