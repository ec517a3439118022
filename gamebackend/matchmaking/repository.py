"""SQL of the matchmaking domain."""

from __future__ import annotations

import asyncpg
import orjson

from gamebackend.db import Database

__all__ = [
    "CANDIDATES",
    "EXPIRE",
    "FORM",
    "cancel",
    "create_ticket",
    "get_match",
    "get_ticket",
    "pool_depths",
    "pool_waits",
]

# Every searching ticket of a mode that may play in a region, in MMR order (bounded).
CANDIDATES = """
SELECT ticket_id::text, player_id::text, mmr, best_ping, (pings ->> $2)::int AS ping,
       extract(epoch FROM clock_timestamp() - created_at)::float8 AS waited
  FROM mm_tickets
 WHERE status = 'searching' AND mode = $1 AND $2 = ANY (regions)
 ORDER BY mmr
 LIMIT $3
"""

FORM = "SELECT * FROM gb_mm_form($1, $2, $3, $4::uuid[])"

# Expire old searches. SKIP LOCKED: a ticket being matched right now is left to that match.
EXPIRE = """
UPDATE mm_tickets SET status = 'expired', ended_at = clock_timestamp()
 WHERE ticket_id IN (SELECT ticket_id FROM mm_tickets
                      WHERE status = 'searching'
                        AND created_at < clock_timestamp() - make_interval(secs => $1)
                      ORDER BY ticket_id FOR UPDATE SKIP LOCKED)
RETURNING ticket_id::text, player_id::text, mode
"""


async def create_ticket(
    db: Database, player: str, mode: str, mmr: int, pings: dict[str, int], regions: list[str]
) -> asyncpg.Record | None:
    """The new ticket, or None when the player already has a searching ticket."""
    return await db.fetchrow(
        "INSERT INTO mm_tickets (player_id, mode, mmr, pings, regions, best_ping)"
        " VALUES ($1::uuid, $2, $3, $4::jsonb, $5, $6)"
        " ON CONFLICT (player_id) WHERE status = 'searching' DO NOTHING"
        " RETURNING ticket_id::text, created_at",
        player, mode, mmr, orjson.dumps(pings).decode(), regions, min(pings[r] for r in regions),
    )  # fmt: skip


async def searching_ticket(db: Database, player: str) -> str | None:
    value = await db.fetchval(
        "SELECT ticket_id::text FROM mm_tickets WHERE player_id = $1::uuid"
        " AND status = 'searching'",
        player,
    )
    return None if value is None else str(value)


async def get_ticket(db: Database, ticket_id: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT ticket_id::text, player_id::text, mode, mmr, pings::text, regions, status,"
        "       match_id::text, created_at, ended_at"
        "  FROM mm_tickets WHERE ticket_id = $1::uuid",
        ticket_id,
    )


async def get_match(db: Database, match_id: str) -> asyncpg.Record | None:
    return await db.fetchrow(
        "SELECT match_id::text, mode, region, players::text[], tickets::text[], mmrs,"
        "       skill_spread, created_at FROM mm_matches WHERE match_id = $1::uuid",
        match_id,
    )


async def cancel(db: Database, ticket_id: str) -> str | None:
    """Cancel a searching ticket; returns the status the ticket has afterwards."""
    value = await db.fetchval(
        "WITH c AS (UPDATE mm_tickets SET status = 'cancelled', ended_at = clock_timestamp()"
        "            WHERE ticket_id = $1::uuid AND status = 'searching' RETURNING status)"
        " SELECT coalesce((SELECT status FROM c),"
        "                 (SELECT status FROM mm_tickets WHERE ticket_id = $1::uuid))",
        ticket_id,
    )
    return None if value is None else str(value)


async def pool_depths(db: Database) -> list[asyncpg.Record]:
    return await db.fetch(
        "SELECT mode, region, count(*)::int AS depth,"
        "       coalesce(max(extract(epoch FROM clock_timestamp() - created_at)), 0)::float8"
        "         AS oldest"
        "  FROM mm_tickets, unnest(regions) AS region"
        " WHERE status = 'searching' GROUP BY mode, region"
    )


async def pool_waits(db: Database, window: float) -> list[asyncpg.Record]:
    """Wait percentiles and skill spread of the tickets matched in the last ``window`` s."""
    return await db.fetch(
        "SELECT mode, region, count(*)::int AS matched,"
        "       percentile_cont(0.5) WITHIN GROUP (ORDER BY wait) AS p50,"
        "       percentile_cont(0.95) WITHIN GROUP (ORDER BY wait) AS p95,"
        "       percentile_cont(0.5) WITHIN GROUP (ORDER BY skill_spread) AS spread_p50"
        "  FROM (SELECT m.mode, m.region, m.skill_spread,"
        "               extract(epoch FROM t.ended_at - t.created_at) AS wait"
        "          FROM mm_tickets t JOIN mm_matches m ON m.match_id = t.match_id"
        "         WHERE t.status = 'matched'"
        "           AND t.ended_at > clock_timestamp() - make_interval(secs => $1)) w"
        " GROUP BY mode, region",
        window,
    )
