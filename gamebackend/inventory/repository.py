"""SQL of the inventory domain: writes append events and update their fold atomically."""

from __future__ import annotations

import asyncpg

from gamebackend.db import Database, WriteResult

__all__ = ["change_items", "event_page", "items", "purchase"]

_MAX_ID = 2**63 - 1


async def purchase(
    db: Database, scope: str, key: str, digest: bytes, player: str, item: str, qty: int,
    currency: str, price: int,
) -> WriteResult:  # fmt: skip
    return await db.write(
        "SELECT * FROM gb_purchase($1, $2, $3, $4::uuid, $5, $6, $7, $8)",
        scope, key, digest, player, item, qty, currency, price,
    )  # fmt: skip


async def change_items(
    db: Database, scope: str, key: str, digest: bytes, player: str, item: str, delta: int, kind: str
) -> WriteResult:
    return await db.write(
        "SELECT * FROM gb_inventory_change($1, $2, $3, $4::uuid, $5, $6, $7)",
        scope, key, digest, player, item, delta, kind,
    )  # fmt: skip


async def items(db: Database, player: str) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT item_id, qty FROM inventory_items WHERE player_id = $1::uuid AND qty > 0"
        " ORDER BY item_id",
        player,
    )


async def event_page(
    db: Database, player: str, before: int | None, limit: int
) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT event_id, txn_id::text, item_id, delta, kind, created_at FROM inventory_events"
        " WHERE player_id = $1::uuid AND event_id < $2 ORDER BY event_id DESC LIMIT $3",
        player, before if before is not None else _MAX_ID, limit,
    )  # fmt: skip
