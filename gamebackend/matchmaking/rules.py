"""Matchmaking rules, from ``GAMEBACKEND_MM_*`` environment variables (docs/realtime.md).

- Pools: one per (mode, region). ``duel`` matches 2 players, ``squad`` 4.
- Region: a ticket may play only where its ping is at most ``max_ping`` ms. At first it searches
  only its best regions (within ``region_slack`` ms of its lowest ping); after
  ``region_fallback`` seconds, every region within the limit.
- Skill: a ticket accepts players within ``window(wait) = min(window_base + window_widen * wait,
  window_cap)`` MMR of itself; a match's skill spread (max - min MMR) is within the window of
  every one of its players.
- A ticket still searching after ``expiry`` seconds expires.
"""

from __future__ import annotations

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from gamebackend.settings import SettingsError

__all__ = ["MODES", "MatchRules", "load_rules"]

MODES: dict[str, int] = {"duel": 2, "squad": 4}


class MatchRules(BaseSettings):
    """Every number the matchmaker decides with."""

    model_config = SettingsConfigDict(env_prefix="GAMEBACKEND_MM_", extra="ignore", frozen=True)

    regions: str = "eu,us,asia"
    max_ping: int = Field(default=120, ge=1, le=1000)
    region_slack: int = Field(default=30, ge=0, le=1000)
    region_fallback: float = Field(default=5.0, ge=0)
    window_base: int = Field(default=100, ge=0)
    window_widen: float = Field(default=50.0, ge=0)
    window_cap: int = Field(default=600, ge=0)
    expiry: float = Field(default=90.0, gt=0)
    tick: float = Field(default=0.25, gt=0, le=10)
    stats_window: float = Field(default=300.0, gt=0)
    # Run the matchmaker loop in this process (any number of processes may run it).
    enabled: bool = True

    @field_validator("regions")
    @classmethod
    def _regions(cls, value: str) -> str:
        names = [r.strip() for r in value.split(",") if r.strip()]
        if not names or any(not r.isascii() or not r.isidentifier() for r in names):
            raise ValueError("a comma-separated list of region names like eu,us,asia")
        return ",".join(names)

    @property
    def region_list(self) -> list[str]:
        return self.regions.split(",")

    def window(self, waited: float) -> float:
        """The MMR distance a ticket accepts after waiting ``waited`` seconds."""
        return min(self.window_base + self.window_widen * max(0.0, waited), self.window_cap)

    def searches_in(self, ping: int, best_ping: int, waited: float) -> bool:
        """Whether a ticket with this ping to a region searches there now."""
        if ping > self.max_ping:
            return False
        return ping <= best_ping + self.region_slack or waited >= self.region_fallback


def load_rules() -> MatchRules:
    """The rules, or a SettingsError naming the variable."""
    try:
        return MatchRules()
    except ValidationError as exc:
        err = exc.errors()[0]
        name = str(err["loc"][0]) if err["loc"] else "?"
        raise SettingsError(f"GAMEBACKEND_MM_{name.upper()}: {err['msg']}") from None
