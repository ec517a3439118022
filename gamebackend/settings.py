"""Settings from the environment (pydantic-settings). Names are the documented env vars."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import AliasChoices, Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from gamebackend import __version__

__all__ = ["DATA_DIR_DEFAULT", "Settings", "SettingsError", "load_settings"]

_DATA = Path(__file__).parent / "data"
DATA_DIR_DEFAULT = Path(".gamebackend")


class SettingsError(ValueError):
    """The environment holds a value the backend cannot use; the message names the variable."""


class Settings(BaseSettings):
    """Everything the backend reads from its environment."""

    model_config = SettingsConfigDict(env_prefix="GAMEBACKEND_", extra="ignore", frozen=True)

    # External servers; when unset the CLI starts embedded ones under data_dir.
    database_url: str | None = Field(
        default=None, validation_alias=AliasChoices("DATABASE_URL", "GAMEBACKEND_DATABASE_URL")
    )
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "GAMEBACKEND_REDIS_URL")
    )
    version: str = __version__
    # One JSON line per request on stdout (gamebackend/accesslog.py): what the observability
    # module's CloudWatch metric filters read. Off unless asked (the ECS task definition does):
    # local sandboxes and benchmarks would only fill their log files.
    access_log: Literal["stdout", "off"] = Field(
        default="off", validation_alias=AliasChoices("ACCESS_LOG", "GAMEBACKEND_ACCESS_LOG")
    )
    faults: str = ""
    admin_key: str | None = None
    # HMAC key for player tokens; generated and stored in the database when unset.
    secret: str | None = None
    data_dir: Path = DATA_DIR_DEFAULT
    db_pool_size: int = Field(default=8, ge=1, le=200)
    max_body_bytes: int = Field(default=16_384, ge=256)
    # Redis projection entries expire after this long without a write: the bound on how stale an
    # entry can be if a process dies between its commit and its projection write.
    cache_ttl: int = Field(default=600, ge=1)
    pool_shards: int = Field(default=32, ge=1, le=1024)
    drift_interval: float = Field(default=60.0, ge=0)
    heartbeat_interval: float = Field(default=5.0, gt=0)
    # Idempotency keys older than this are deleted: a retry after that is a new request. At
    # least a minute, so that a client's own retries always find their key.
    idempotency_retention: float = Field(default=86_400.0, ge=60)
    # Seconds between pruning passes in each API process (0: none; `gamebackend prune` then),
    # and the rows one DELETE may remove (each batch is its own short transaction).
    idempotency_prune_interval: float = Field(default=300.0, ge=0)
    idempotency_prune_batch: int = Field(default=1_000, ge=1, le=100_000)
    catalogue: Path = _DATA / "catalogue.yaml"
    leaderboards: Path = _DATA / "leaderboards.yaml"


def load_settings(**overrides: object) -> Settings:
    """Settings from the environment (plus overrides), or one clear error naming the variable."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        env = name.upper() if name.isupper() else f"GAMEBACKEND_{name.upper()}"
        raise SettingsError(f"{env}: {err['msg']}") from None
