"""The matchmaker loop: every API process may run one; they share the work safely.

Each tick expires old tickets, then visits the pools in random order. A pool is worked on by
one process at a time (a transaction-scoped advisory lock, tried without waiting: a busy pool
is skipped this tick). A ticket searching in several regions belongs to several pools, so two
processes may still propose it at once; ``gb_mm_form`` settles that under row locks, and the
``mm_match_tickets`` primary key makes a ticket in two matches impossible.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import zlib
from collections.abc import Callable
from typing import Any

import asyncpg

from gamebackend.matchmaking import repository as repo
from gamebackend.matchmaking.engine import Candidate, form_groups
from gamebackend.matchmaking.metrics import CONFLICTS, MATCHES, TICKETS, WAIT
from gamebackend.matchmaking.rules import MODES, MatchRules
from gamebackend.matchmaking.service import match_view

__all__ = ["Matchmaker"]

log = logging.getLogger("gamebackend.matchmaking")

_MAX_CANDIDATES = 5000
Publish = Callable[[str, str, dict[str, Any]], None]


def _pool_lock(mode: str, region: str) -> int:
    # A stable 32-bit key per pool, in its own advisory-lock namespace ("mm").
    return zlib.crc32(f"gamebackend-mm:{mode}:{region}".encode())


class Matchmaker:
    """Runs ``tick()`` every ``rules.tick`` seconds on its own database connection."""

    def __init__(self, dsn: str, rules: MatchRules, publish: Publish, version: str) -> None:
        self.dsn = dsn
        self.rules = rules
        self.publish = publish
        self.version = version
        self._conn: asyncpg.Connection | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="gamebackend-matchmaker")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._conn.close(), timeout=2)

    async def _run(self) -> None:
        while True:
            try:
                if self._conn is None or self._conn.is_closed():
                    self._conn = await asyncpg.connect(
                        self.dsn, server_settings={"application_name": "gamebackend matchmaker"}
                    )
                await self.tick(self._conn)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the loop outlives database hiccups
                log.warning("matchmaker: %s: %s", type(exc).__name__, exc)
                if self._conn is not None and not self._conn.is_closed():
                    with contextlib.suppress(Exception):
                        await self._conn.close()
                self._conn = None
            await asyncio.sleep(self.rules.tick)

    async def tick(self, conn: asyncpg.Connection) -> int:
        """One pass over every pool; returns the number of matches formed."""
        for row in await conn.fetch(repo.EXPIRE, self.rules.expiry):
            TICKETS.labels("expired", row["mode"], self.version).inc()
        pools = [(mode, region) for mode in MODES for region in self.rules.region_list]
        random.shuffle(pools)
        proposed: set[str] = set()
        formed = 0
        for mode, region in pools:
            formed += await self._pool(conn, mode, region, proposed)
        return formed

    async def _pool(
        self, conn: asyncpg.Connection, mode: str, region: str, proposed: set[str]
    ) -> int:
        size = MODES[mode]
        async with conn.transaction():
            if not await conn.fetchval(
                "SELECT pg_try_advisory_xact_lock($1)", _pool_lock(mode, region)
            ):
                return 0
            rows = await conn.fetch(repo.CANDIDATES, mode, region, _MAX_CANDIDATES)
            cands = [
                Candidate(r["ticket_id"], r["player_id"], r["mmr"], r["waited"], r["ping"],
                          r["best_ping"])
                for r in rows
                if r["ticket_id"] not in proposed
                and self.rules.searches_in(r["ping"], r["best_ping"], r["waited"])
            ]  # fmt: skip
            groups = form_groups(cands, size, self.rules)
            if not groups:
                return 0
            flat = [c.ticket_id for group in groups for c in group]
            proposed.update(flat)
            matches = await conn.fetch(repo.FORM, mode, region, size, flat)
        self._announce(mode, region, groups, matches)
        return len(matches)

    def _announce(
        self, mode: str, region: str, groups: list[list[Candidate]], matches: list[Any]
    ) -> None:
        waited = {c.ticket_id: c.waited for group in groups for c in group}
        if len(matches) < len(groups):
            CONFLICTS.labels(self.version).inc(len(groups) - len(matches))
        MATCHES.labels(mode, region, self.version).inc(len(matches))
        for m in matches:
            view = match_view({
                "match_id": str(m["o_match_id"]), "mode": mode, "region": region,
                "players": [str(p) for p in m["o_players"]],
                "tickets": [str(t) for t in m["o_tickets"]], "mmrs": list(m["o_mmrs"]),
                "skill_spread": m["o_spread"], "created_at": m["o_created"],
            })  # fmt: skip
            for entry in view["players"]:
                TICKETS.labels("matched", mode, self.version).inc()
                WAIT.labels(mode, self.version).observe(waited.get(entry["ticket_id"], 0.0))
                self.publish(f"matchmaking:{entry['player_id']}", "match.found", view)
