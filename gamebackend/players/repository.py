"""SQL of the players domain."""

from __future__ import annotations

import asyncpg

from gamebackend.db import Database

__all__ = ["create_player", "get_player"]


async def create_player(db: Database, name: str, currencies: list[str]) -> str:
    # Not idempotent (no key), so never retried: a retry after a lost answer could register twice.
    player_id = await db.fetchval("SELECT gb_create_player($1, $2)", name, currencies, retry=False)
    return str(player_id)


async def get_player(db: Database, player_id: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT player_id::text, name, created_at FROM players WHERE player_id = $1::uuid",
        player_id,
    )
