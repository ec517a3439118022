"""Limits of the realtime gateway, from ``GAMEBACKEND_WS_*`` environment variables."""

from __future__ import annotations

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from gamebackend.settings import SettingsError

__all__ = ["RealtimeSettings", "load_realtime_settings"]


class RealtimeSettings(BaseSettings):
    """Per-connection bounds and presence timing (documented in docs/realtime.md)."""

    model_config = SettingsConfigDict(env_prefix="GAMEBACKEND_WS_", extra="ignore", frozen=True)

    # Messages waiting for a client beyond what its socket buffers; one more closes it (1013).
    send_queue: int = Field(default=256, ge=1, le=100_000)
    max_message_bytes: int = Field(default=4096, ge=256, le=65_536)
    max_subscriptions: int = Field(default=32, ge=1, le=1024)
    # A process's presence heartbeat key lives this long: a killed process's presences are
    # removed at most this long (plus one heartbeat) after its last beat.
    presence_ttl: float = Field(default=15.0, ge=1.0, le=3600.0)
    presence_members: int = Field(default=100, ge=0, le=10_000)
    # Fan-out yields to the event loop after this many writes (HTTP requests keep flowing).
    fanout_chunk: int = Field(default=2000, ge=100)
    # Coins a guest of the web client receives on sign-up (0: none).
    welcome_coins: int = Field(default=500, ge=0, le=1_000_000)


def load_realtime_settings() -> RealtimeSettings:
    """The settings, or a SettingsError naming the variable."""
    try:
        return RealtimeSettings()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        raise SettingsError(f"GAMEBACKEND_WS_{name.upper()}: {err['msg']}") from None
