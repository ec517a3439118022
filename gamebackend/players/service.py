"""Rules of the players domain."""

from __future__ import annotations

from typing import Any

from gamebackend.auth import Principal
from gamebackend.context import AppContext
from gamebackend.errors import ApiError
from gamebackend.players import repository as repo
from gamebackend.players.schemas import NewPlayer

__all__ = ["PlayerService"]


class PlayerService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def register(self, body: NewPlayer) -> dict[str, Any]:
        currencies = list(self.ctx.data.catalogue.currencies)
        player_id = await repo.create_player(self.ctx.db, body.name, currencies)
        return {"player_id": player_id, "token": self.ctx.signer.issue(player_id)}

    async def profile(self, principal: Principal, player_id: str) -> dict[str, Any]:
        target = principal.target(player_id)
        row = await repo.get_player(self.ctx.db, target)
        if row is None:
            raise ApiError(404, "not_found", f"no player {target}")
        return {"player_id": row["player_id"], "name": row["name"], "created_at": row["created_at"]}
