"""SQL of the wallet domain. Writes are single calls to the functions of 0002_functions.sql."""

from __future__ import annotations

import asyncpg

from gamebackend.db import Database, WriteResult

__all__ = ["apply_transaction", "balances", "ledger_page", "transfer"]

_MAX_ID = 2**63 - 1


async def apply_transaction(
    db: Database, scope: str, key: str, digest: bytes, player: str, currency: str, amount: int,
    reason: str,
) -> WriteResult:  # fmt: skip
    return await db.write(
        "SELECT * FROM gb_wallet_tx($1, $2, $3, $4::uuid, $5, $6, $7)",
        scope, key, digest, player, currency, amount, reason,
    )  # fmt: skip


async def transfer(
    db: Database, scope: str, key: str, digest: bytes, player: str, to_player: str, currency: str,
    amount: int,
) -> WriteResult:  # fmt: skip
    return await db.write(
        "SELECT * FROM gb_transfer($1, $2, $3, $4::uuid, $5::uuid, $6, $7)",
        scope, key, digest, player, to_player, currency, amount,
    )  # fmt: skip


async def balances(db: Database, player: str) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT currency, balance, version FROM wallets WHERE player_id = $1::uuid", player
    )


async def ledger_page(
    db: Database, player: str, currency: str, before: int | None, limit: int
) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT entry_id, txn_id::text, currency, amount, balance_after, kind, reason, ref,"
        "       created_at FROM ledger"
        " WHERE player_id = $1::uuid AND entry_id < $2 AND ($3 = '' OR currency = $3)"
        " ORDER BY entry_id DESC LIMIT $4",
        player, before if before is not None else _MAX_ID, currency, limit,
    )  # fmt: skip
