"""Rules of the players domain."""

from __future__ import annotations

from typing import Any

import asyncpg

from gamebackend.auth import Principal
from gamebackend.context import AppContext
from gamebackend.db import Database
from gamebackend.errors import ApiError
from gamebackend.players import repository as repo
from gamebackend.players.schemas import NewPlayer

__all__ = ["PlayerService", "require_player"]


async def require_player(db: Database, player_id: str) -> asyncpg.Record:
    """The player's row, or the API's 404 for an unknown player."""
    row = await repo.get_player(db, player_id)
    if row is None:
        raise ApiError(404, "not_found", f"no player {player_id}")
    return row


class PlayerService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def register(self, body: NewPlayer) -> dict[str, Any]:
        currencies = list(self.ctx.data.catalogue.currencies)
        player_id = await repo.create_player(self.ctx.db, body.name, currencies)
        return {"player_id": player_id, "token": self.ctx.signer.issue(player_id)}

    async def profile(self, principal: Principal, player_id: str) -> dict[str, Any]:
        row = await require_player(self.ctx.db, principal.target(player_id))
        return {"player_id": row["player_id"], "name": row["name"], "created_at": row["created_at"]}
