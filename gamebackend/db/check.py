"""``gamebackend check``: the invariants the data must satisfy, checked against PostgreSQL.

Each invariant is one query returning the rows that violate it (empty when it holds).
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg

from gamebackend.catalogue import LeaderboardConfig

__all__ = ["INVARIANTS", "Invariant", "Violation", "run_checks"]

_SHOWN = 20  # violations listed per invariant; the rest are counted


@dataclass(frozen=True)
class Invariant:
    name: str
    description: str
    sql: str


@dataclass(frozen=True)
class Violation:
    invariant: str
    detail: str


INVARIANTS: tuple[Invariant, ...] = (
    Invariant(
        "wallet_equals_ledger",
        "every wallet balance equals the sum of its ledger entries",
        """SELECT coalesce(w.player_id, l.player_id) AS player,
                  coalesce(w.currency, l.currency) AS currency,
                  coalesce(w.balance, 0) AS balance, coalesce(l.total, 0) AS ledger_sum
             FROM wallets w
             FULL JOIN (SELECT player_id, currency, sum(amount) AS total
                          FROM ledger GROUP BY 1, 2) l
               ON l.player_id = w.player_id AND l.currency = w.currency
            WHERE coalesce(w.balance, 0) <> coalesce(l.total, 0)""",
    ),
    Invariant(
        "ledger_running_balance",
        "each ledger entry's balance_after is the running sum of its wallet's entries",
        """SELECT entry_id, player_id AS player, currency, balance_after, running
             FROM (SELECT entry_id, player_id, currency, balance_after,
                          sum(amount) OVER (PARTITION BY player_id, currency
                                            ORDER BY entry_id) AS running
                     FROM ledger) x
            WHERE balance_after <> running""",
    ),
    Invariant(
        "no_negative_balance",
        "no wallet, pool shard or inventory quantity is negative",
        """SELECT 'wallet' AS kind, player_id::text AS owner, currency AS what, balance AS value
             FROM wallets WHERE balance < 0
           UNION ALL SELECT 'pool_shard', pool_id, currency || '#' || shard, balance
             FROM pool_shards WHERE balance < 0
           UNION ALL SELECT 'inventory', player_id::text, item_id, qty
             FROM inventory_items WHERE qty < 0""",
    ),
    Invariant(
        "pool_equals_contributions_minus_payouts",
        "every pool balance equals its contributions minus its payouts",
        """SELECT coalesce(s.pool_id, l.pool_id) AS pool,
                  coalesce(s.currency, l.currency) AS currency, coalesce(s.total, 0) AS balance,
                  coalesce(l.total, 0) AS contributions_minus_payouts
             FROM (SELECT pool_id, currency, sum(balance) AS total
                     FROM pool_shards GROUP BY 1, 2) s
             FULL JOIN (SELECT ref AS pool_id, currency, -sum(amount) AS total FROM ledger
                         WHERE kind IN ('pool_contribution', 'pool_payout') GROUP BY 1, 2) l
               ON l.pool_id = s.pool_id AND l.currency = s.currency
            WHERE coalesce(s.total, 0) <> coalesce(l.total, 0)""",
    ),
    Invariant(
        "transfers_balance",
        "every transfer is two entries that sum to zero",
        """SELECT txn_id, count(*) AS entries, sum(amount) AS total FROM ledger
            WHERE kind = 'transfer' GROUP BY txn_id HAVING count(*) <> 2 OR sum(amount) <> 0""",
    ),
    Invariant(
        "inventory_equals_events",
        "every inventory quantity equals the fold of its events",
        """SELECT coalesce(i.player_id, e.player_id) AS player,
                  coalesce(i.item_id, e.item_id) AS item,
                  coalesce(i.qty, 0) AS qty, coalesce(e.total, 0) AS events_sum
             FROM inventory_items i
             FULL JOIN (SELECT player_id, item_id, sum(delta) AS total
                          FROM inventory_events GROUP BY 1, 2) e
               ON e.player_id = i.player_id AND e.item_id = i.item_id
            WHERE coalesce(i.qty, 0) <> coalesce(e.total, 0)""",
    ),
    Invariant(
        "purchases_paired",
        "every purchase debited the wallet and granted the items in the same transaction",
        """SELECT coalesce(l.txn_id, e.txn_id) AS txn_id, l.txn_id IS NOT NULL AS debited,
                  e.txn_id IS NOT NULL AS granted
             FROM (SELECT DISTINCT txn_id FROM ledger WHERE kind = 'purchase') l
             FULL JOIN (SELECT DISTINCT txn_id FROM inventory_events WHERE kind = 'purchase') e
               ON e.txn_id = l.txn_id
            WHERE l.txn_id IS NULL OR e.txn_id IS NULL""",
    ),
    Invariant(
        "idempotency_points_at_entries",
        "every stored idempotent response points at an existing ledger entry or inventory event",
        """SELECT i.scope, i.key, i.txn_id FROM idempotency i
            WHERE NOT EXISTS (SELECT 1 FROM ledger l WHERE l.txn_id = i.txn_id)
              AND NOT EXISTS (SELECT 1 FROM inventory_events e WHERE e.txn_id = i.txn_id)""",
    ),
)

_RECORD_FOLD = """
SELECT coalesce(r.board_id, f.board_id) AS board, coalesce(r.period, f.period) AS period,
       coalesce(r.player_id, f.player_id) AS player, r.score AS record, f.folded
  FROM (SELECT * FROM lb_records WHERE board_id = $1) r
  FULL JOIN (
      SELECT board_id, period, player_id,
             CASE $2::text WHEN 'best' THEN max(score) WHEN 'increment' THEN sum(score)::bigint
                  ELSE (array_agg(score ORDER BY seq DESC))[1] END AS folded
        FROM lb_submissions WHERE board_id = $1 GROUP BY 1, 2, 3) f
    ON f.board_id = r.board_id AND f.period = r.period AND f.player_id = r.player_id
 WHERE r.score IS DISTINCT FROM f.folded"""


def _describe(row: asyncpg.Record) -> str:
    return " ".join(f"{key}={value}" for key, value in row.items())


async def _violations(
    conn: asyncpg.Connection, name: str, sql: str, *args: object
) -> list[Violation]:
    rows = await conn.fetch(sql, *args)
    found = [Violation(name, _describe(row)) for row in rows[:_SHOWN]]
    if len(rows) > _SHOWN:
        found.append(Violation(name, f"... and {len(rows) - _SHOWN} more"))
    return found


async def run_checks(dsn: str, boards: dict[str, LeaderboardConfig]) -> tuple[int, list[Violation]]:
    """(number of invariants checked, violations). One REPEATABLE READ snapshot for all."""
    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            found: list[Violation] = []
            for inv in INVARIANTS:
                found += await _violations(conn, inv.name, inv.sql)
            for board in boards.values():
                found += await _violations(
                    conn,
                    f"leaderboard_equals_submissions[{board.id}]",
                    _RECORD_FOLD,
                    board.id,
                    board.operator,
                )
            return len(INVARIANTS) + len(boards), found
    finally:
        await conn.close()
