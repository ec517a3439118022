"""SQL of the leaderboards domain. Ranking order: score desc, achieved_at, player id."""

from __future__ import annotations

import asyncpg

from gamebackend.db import Database, WriteResult

__all__ = ["all_records", "around", "page", "rank_of", "submit"]


async def submit(
    db: Database, board: str, operator: str, reset: str, player: str, submission: str, score: int
) -> WriteResult:
    return await db.write(
        "SELECT * FROM gb_submit_score($1, $2, $3, $4::uuid, $5, $6)",
        board, operator, reset, player, submission, score,
    )  # fmt: skip


async def page(
    db: Database, board: str, period: str, offset: int, limit: int
) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT player_id::text, score FROM lb_records WHERE board_id = $1 AND period = $2"
        " ORDER BY score DESC, achieved_at, player_id OFFSET $3 LIMIT $4",
        board, period, offset, limit,
    )  # fmt: skip


async def rank_of(db: Database, board: str, period: str, player: str) -> int | None:
    """0-based rank of the player, or None when the player has no record in this period."""
    value = await db.fetchval(
        """SELECT (SELECT count(*) FROM lb_records r
                    WHERE r.board_id = $1 AND r.period = $2
                      AND (r.score > me.score OR (r.score = me.score
                           AND (r.achieved_at, r.player_id) < (me.achieved_at, me.player_id))))
             FROM lb_records me
            WHERE me.board_id = $1 AND me.period = $2 AND me.player_id = $3::uuid""",
        board, period, player,
    )  # fmt: skip
    return None if value is None else int(value)


async def around(
    db: Database, board: str, period: str, player: str, half: int
) -> tuple[int, list[asyncpg.Record]] | None:
    rank = await rank_of(db, board, period, player)
    if rank is None:
        return None
    first = max(0, rank - half)
    return first, await page(db, board, period, first, rank - first + half + 1)


async def all_records(db: Database, board: str, period: str) -> list[asyncpg.Record]:
    """Everything a rebuild of the Redis sorted set needs."""
    return await db.fetch(
        "SELECT player_id::text, score, version,"
        "       (extract(epoch FROM achieved_at) * 1000000)::bigint AS achieved_us"
        "  FROM lb_records WHERE board_id = $1 AND period = $2",
        board, period,
    )  # fmt: skip
