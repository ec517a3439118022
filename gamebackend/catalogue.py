"""The game's data: currencies, store items, pools (catalogue.yaml) and leaderboards
(leaderboards.yaml). Loaded once at start; a bad file is one clear error naming it."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

__all__ = [
    "Catalogue",
    "CatalogueError",
    "GameData",
    "Item",
    "LeaderboardConfig",
    "Price",
    "current_period",
    "load_game_data",
]

_ID = r"^[a-z0-9][a-z0-9_-]{0,63}$"


class CatalogueError(ValueError):
    """A data file is missing or invalid; the message names the file and the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Price(_Strict):
    currency: str
    amount: int = Field(gt=0)


class Item(_Strict):
    name: str
    price: Price


class Pool(_Strict):
    currencies: list[str] = Field(min_length=1)
    # "single_row" is the naive design sharding replaces (SELECT ... FOR UPDATE of one pool
    # row, then UPDATE, one round trip each): kept as a measurable control for benchmarks.
    strategy: Literal["sharded", "single_row"] = "sharded"


class Catalogue(_Strict):
    currencies: list[str] = Field(min_length=1)
    max_amount: int = Field(default=1_000_000_000, gt=0, le=10**15)
    items: dict[str, Item] = Field(default_factory=dict)
    pools: dict[str, Pool] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _known_currencies(self) -> Catalogue:
        known = set(self.currencies)
        for item_id, item in self.items.items():
            if item.price.currency not in known:
                raise ValueError(f"item {item_id}: unknown currency {item.price.currency!r}")
        for pool_id, pool in self.pools.items():
            for cur in pool.currencies:
                if cur not in known:
                    raise ValueError(f"pool {pool_id}: unknown currency {cur!r}")
        return self

    def check_currency(self, currency: str) -> str | None:
        """None when known, else the message for the 422."""
        if currency in self.currencies:
            return None
        return f"unknown currency {currency!r} (known: {', '.join(self.currencies)})"


class LeaderboardConfig(_Strict):
    id: str = Field(pattern=_ID)
    operator: Literal["best", "latest", "increment"]
    reset: Literal["none", "daily", "weekly"] = "none"


class _Boards(_Strict):
    leaderboards: list[LeaderboardConfig]


@dataclass(frozen=True)
class GameData:
    catalogue: Catalogue
    leaderboards: dict[str, LeaderboardConfig]


def _load_yaml(path: Path) -> object:
    try:
        return yaml.safe_load(path.read_text())
    except OSError as exc:
        raise CatalogueError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise CatalogueError(f"{where}: invalid YAML: {getattr(exc, 'problem', exc)}") from None


def _validate(model: type[_Strict], path: Path) -> _Strict:
    raw = _load_yaml(path)
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"]) or "top level"
        raise CatalogueError(f"{path}: {where}: {err['msg']}") from None


def load_game_data(catalogue: Path, leaderboards: Path) -> GameData:
    cat = _validate(Catalogue, catalogue)
    boards = _validate(_Boards, leaderboards)
    assert isinstance(cat, Catalogue) and isinstance(boards, _Boards)
    by_id: dict[str, LeaderboardConfig] = {}
    for board in boards.leaderboards:
        if board.id in by_id:
            raise CatalogueError(f"{leaderboards}: leaderboard {board.id!r} is defined twice")
        by_id[board.id] = board
    return GameData(catalogue=cat, leaderboards=by_id)


def current_period(reset: str, now: dt.datetime | None = None) -> str:
    """The period key a board writes to now; the same rule as gb_period() in SQL (UTC)."""
    at = (now or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    if reset == "daily":
        return at.strftime("%Y-%m-%d")
    if reset == "weekly":
        year, week, _ = at.isocalendar()
        return f"{year}-W{week:02d}"
    return "all"
