"""SQL of the pools domain."""

from __future__ import annotations

import asyncpg
import orjson

from gamebackend.db import Database, WriteResult
from gamebackend.errors import ApiError

__all__ = ["contribute", "contribute_single_row", "payout", "pool_balances"]


async def contribute(
    db: Database, scope: str, key: str, digest: bytes, player: str, pool: str, currency: str,
    amount: int, shard: int,
) -> WriteResult:  # fmt: skip
    return await db.write(
        "SELECT * FROM gb_pool_contribute($1, $2, $3, $4::uuid, $5, $6, $7, $8)",
        scope, key, digest, player, pool, currency, amount, shard,
    )  # fmt: skip


async def payout(
    db: Database, scope: str, key: str, digest: bytes, player: str, pool: str, currency: str,
    amount: int, reason: str,
) -> WriteResult:  # fmt: skip
    return await db.write(
        "SELECT * FROM gb_pool_payout($1, $2, $3, $4::uuid, $5, $6, $7, $8)",
        scope, key, digest, player, pool, currency, amount, reason,
    )  # fmt: skip


async def pool_balances(db: Database, pool: str) -> list[asyncpg.Record]:
    """Exact: the sum of the shards, read in one snapshot."""
    return await db.fetch(
        "SELECT currency, sum(balance)::bigint AS balance FROM pool_shards"
        " WHERE pool_id = $1 GROUP BY currency",
        pool,
    )


class _Raced(Exception):
    """A concurrent request with the same idempotency key committed first."""


async def contribute_single_row(
    db: Database, scope: str, key: str, digest: bytes, player: str, pool: str, currency: str,
    amount: int,
) -> WriteResult:  # fmt: skip
    """The naive control: lock the one pool row, then debit, log and credit, one statement
    (and one round trip) at a time while that lock is held. Same tables and invariants as the
    sharded design (the pool is its shard 0)."""
    for attempt in range(3):
        conn = await db.pool.acquire()
        try:
            async with conn.transaction():
                result = await _single_row(conn, scope, key, digest, player, pool, currency, amount)
        except (asyncpg.exceptions.DeadlockDetectedError, _Raced):
            db.pool.release(conn)  # rolled back; the next attempt replays a twin's answer
            if attempt == 2:
                raise ApiError(503, "busy", "could not apply the contribution, retry") from None
            continue
        except BaseException:
            db.pool.release(conn, broken=True)
            raise
        db.pool.release(conn)
        return result
    raise AssertionError("unreachable")


async def _single_row(
    conn: asyncpg.Connection, scope: str, key: str, digest: bytes, player: str, pool: str,
    currency: str, amount: int,
) -> WriteResult:  # fmt: skip
    seen = await conn.fetchrow(
        "SELECT request_hash, response FROM idempotency WHERE scope = $1 AND key = $2", scope, key
    )
    if seen is not None:
        outcome = "replayed" if bytes(seen["request_hash"]) == digest else "mismatch"
        return WriteResult(outcome, seen["response"], None)
    where = "pool_id = $1 AND currency = $2 AND shard = 0"
    await conn.execute(
        "INSERT INTO pool_shards (pool_id, currency, shard, balance) VALUES ($1, $2, 0, 0)"
        " ON CONFLICT DO NOTHING", pool, currency,
    )  # fmt: skip
    await conn.fetchval(f"SELECT balance FROM pool_shards WHERE {where} FOR UPDATE", pool, currency)
    wallet = await conn.fetchrow(
        "UPDATE wallets SET balance = balance - $3, version = version + 1"
        " WHERE player_id = $1::uuid AND currency = $2 AND balance >= $3"
        " RETURNING balance, version",
        player, currency, amount,
    )  # fmt: skip
    if wallet is None:
        raise ApiError(409, "insufficient_funds", "insufficient funds")
    txn = await conn.fetchval(
        "INSERT INTO ledger (txn_id, player_id, currency, amount, balance_after, kind, ref)"
        " VALUES (gen_random_uuid(), $1::uuid, $2, $3, $4, 'pool_contribution', $5)"
        " RETURNING txn_id::text",
        player, currency, -amount, wallet["balance"], pool,
    )  # fmt: skip
    await conn.execute(
        f"UPDATE pool_shards SET balance = balance + $3 WHERE {where}", pool, currency, amount
    )
    response = orjson.dumps(
        {
            "txn_id": txn,
            "pool": pool,
            "currency": currency,
            "amount": amount,
            "balance": wallet["balance"],
        }
    ).decode()
    stored = await conn.fetchval(
        "INSERT INTO idempotency (scope, key, request_hash, txn_id, response)"
        " VALUES ($1, $2, $3, $4::uuid, $5::jsonb) ON CONFLICT DO NOTHING RETURNING 1",
        scope, key, digest, txn, response,
    )  # fmt: skip
    if stored is None:  # a twin with this key committed first: roll back, then replay it
        raise _Raced
    proj = [[player, currency, wallet["version"], wallet["balance"]]]
    return WriteResult("applied", response, proj)
