"""Server settings: one pydantic-settings class read from `GRAPHYARD_*` environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    """Everything the server can be configured with; build one and pass it to `create_app`."""

    model_config = SettingsConfigDict(env_prefix="GRAPHYARD_", extra="ignore")

    data_dir: Path = Path("./data")
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy async URL; default: SQLite file graphyard.db in data_dir",
    )
    checkpoint_url: str | None = Field(
        default=None,
        description="LangGraph checkpointer URL; default: checkpoints.sqlite in data_dir",
    )
    admin_token: SecretStr | None = None
    # NoDecode: the env var is a plain comma-separated list, not JSON.
    tool_modules: Annotated[list[str], NoDecode] = Field(default_factory=list)
    langgraph_json: Path | None = None
    workflows_dir: Path | None = None
    load_examples: bool = True
    max_concurrent_runs: int = Field(default=16, ge=1)
    max_run_retries: int = Field(default=5, ge=0)
    retry_base_seconds: float = Field(default=5.0, gt=0)
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=0, le=65535)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1)

    @field_validator("tool_modules", mode="before")
    @classmethod
    def _split_modules(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _derive_urls(self) -> Settings:
        # Resolve once so a later chdir cannot move the database under a running server.
        self.data_dir = self.data_dir.expanduser().resolve()
        if self.database_url is None:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'graphyard.db'}"
        if self.checkpoint_url is None:
            self.checkpoint_url = f"sqlite:///{self.data_dir / 'checkpoints.sqlite'}"
        return self

    @property
    def db_url(self) -> str:
        """The database URL, always set after validation (typed for callers)."""
        assert self.database_url is not None
        return self.database_url

    @property
    def admin_token_file(self) -> Path:
        """Where a generated admin token is kept between starts."""
        return self.data_dir / "admin_token"
