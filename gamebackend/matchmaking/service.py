"""Rules of the matchmaking domain's API: tickets, their status, and pool statistics."""

from __future__ import annotations

from typing import Any

import asyncpg
import orjson

from gamebackend.auth import Principal
from gamebackend.context import AppContext
from gamebackend.errors import ApiError
from gamebackend.matchmaking import repository as repo
from gamebackend.matchmaking.metrics import TICKETS
from gamebackend.matchmaking.rules import MODES, MatchRules
from gamebackend.matchmaking.schemas import TicketIn

__all__ = ["MatchmakingService", "match_view"]


def match_view(row: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    """A match as the API and ``match.found`` show it."""
    players = [
        {"player_id": p, "ticket_id": t, "mmr": m}
        for p, t, m in zip(row["players"], row["tickets"], row["mmrs"], strict=True)
    ]
    return {
        "match_id": row["match_id"], "mode": row["mode"], "region": row["region"],
        "players": players, "skill_spread": row["skill_spread"],
        "created_at": row["created_at"].isoformat(),
    }  # fmt: skip


class MatchmakingService:
    def __init__(self, ctx: AppContext, rules: MatchRules) -> None:
        self.ctx = ctx
        self.rules = rules

    def _regions(self, pings: dict[str, int]) -> list[str]:
        known = self.rules.region_list
        unknown = sorted(set(pings) - set(known))
        if unknown:
            raise ApiError(
                422, "invalid_body",
                f"regions: unknown region(s) {', '.join(unknown)} (known: {', '.join(known)})",
            )  # fmt: skip
        ok = [r for r in known if r in pings and pings[r] <= self.rules.max_ping]
        if not ok:
            raise ApiError(
                422, "no_region_in_reach",
                f"regions: no region within the ping limit of {self.rules.max_ping} ms",
            )  # fmt: skip
        return ok

    async def create(self, principal: Principal, body: TicketIn) -> dict[str, Any]:
        player = principal.target(str(body.player_id) if body.player_id else None)
        regions = self._regions(body.regions)
        pings = {r: body.regions[r] for r in regions}
        # An unknown player (admin key) is a foreign-key refusal: 422 unknown_player.
        row = await repo.create_ticket(self.ctx.db, player, body.mode, body.mmr, pings, regions)
        if row is None:
            existing = await repo.searching_ticket(self.ctx.db, player)
            raise ApiError(
                409, "already_searching", f"the player already has searching ticket {existing}"
            )
        TICKETS.labels("created", body.mode, self.ctx.settings.version).inc()
        return {"ticket_id": row["ticket_id"], "status": "searching", "regions": regions}

    async def _owned(self, principal: Principal, ticket_id: str) -> asyncpg.Record:
        row = await repo.get_ticket(self.ctx.db, ticket_id)
        if row is None:
            raise ApiError(404, "not_found", f"no ticket {ticket_id}")
        principal.target(row["player_id"])  # 403 for another player's ticket
        return row

    async def get(self, principal: Principal, ticket_id: str) -> dict[str, Any]:
        row = await self._owned(principal, ticket_id)
        match = None
        if row["match_id"] is not None:
            found = await repo.get_match(self.ctx.db, row["match_id"])
            match = match_view(found) if found is not None else None
        ended = row["ended_at"]
        return {
            "ticket_id": row["ticket_id"], "player_id": row["player_id"], "status": row["status"],
            "mode": row["mode"], "mmr": row["mmr"], "regions": orjson.loads(row["pings"]),
            "created_at": row["created_at"].isoformat(),
            "ended_at": ended.isoformat() if ended is not None else None, "match": match,
        }  # fmt: skip

    async def cancel(self, principal: Principal, ticket_id: str) -> dict[str, Any]:
        row = await self._owned(principal, ticket_id)
        status = await repo.cancel(self.ctx.db, ticket_id)
        if status == "matched":
            raise ApiError(409, "already_matched", "the ticket is already in a match")
        if status == "expired":
            raise ApiError(409, "expired", "the ticket has expired")
        if row["status"] == "searching" and status == "cancelled":
            TICKETS.labels("cancelled", row["mode"], self.ctx.settings.version).inc()
        return {"ticket_id": ticket_id, "status": status}

    async def stats(self) -> dict[str, Any]:
        depths = {(r["mode"], r["region"]): r for r in await repo.pool_depths(self.ctx.db)}
        waits = {
            (r["mode"], r["region"]): r
            for r in await repo.pool_waits(self.ctx.db, self.rules.stats_window)
        }
        pools = []
        for mode in MODES:
            for region in self.rules.region_list:
                d, w = depths.get((mode, region)), waits.get((mode, region))
                pools.append({
                    "mode": mode, "region": region,
                    "queue_depth": d["depth"] if d else 0,
                    "oldest_wait_s": round(d["oldest"], 3) if d else 0.0,
                    "matched": w["matched"] if w else 0,
                    "wait_p50_s": _round(w["p50"]) if w else None,
                    "wait_p95_s": _round(w["p95"]) if w else None,
                    "skill_spread_p50": _round(w["spread_p50"]) if w else None,
                })  # fmt: skip
        return {"window_s": self.rules.stats_window, "pools": pools}


def _round(value: float | None) -> float | None:
    return None if value is None else round(float(value), 3)
