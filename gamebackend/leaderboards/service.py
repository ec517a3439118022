"""Rules of the leaderboards domain, and the Redis sorted sets that serve ranks.

PostgreSQL holds the records; Redis serves them. A board missing from Redis (never built,
expired, or invalidated after an outage) is rebuilt from PostgreSQL on the next read; while
Redis is away, reads are answered from PostgreSQL with the same ordering.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from gamebackend import events
from gamebackend.auth import Principal
from gamebackend.catalogue import LeaderboardConfig, current_period
from gamebackend.context import AppContext
from gamebackend.errors import ApiError
from gamebackend.leaderboards import repository as repo
from gamebackend.leaderboards.schemas import ScoreIn
from gamebackend.projections import Arg, Command
from gamebackend.writes import Written

__all__ = ["LeaderboardService", "member"]

_PERIOD = re.compile(r"^(all|\d{4}-\d{2}-\d{2}|\d{4}-W\d{2})$")
_LOAD_CHUNK = 500
_rebuild_locks: dict[tuple[str, str], asyncio.Lock] = {}


def member(achieved_us: int, player: str) -> str:
    """The sorted-set member: Redis orders equal scores by member, i.e. earliest first, then id."""
    return f"{achieved_us:016d}:{player}"


def _records(pairs: list[str], first: int) -> list[dict[str, Any]]:
    out = []
    for i in range(0, len(pairs), 2):
        out.append({
            "rank": first + i // 2 + 1,
            "player_id": pairs[i].partition(":")[2],
            "score": -int(float(pairs[i + 1])),
        })  # fmt: skip
    return out


class LeaderboardService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def board(self, board_id: str) -> LeaderboardConfig:
        board = self.ctx.data.leaderboards.get(board_id)
        if board is None:
            raise ApiError(404, "not_found", f"no leaderboard {board_id!r}")
        return board

    def period(self, board: LeaderboardConfig, requested: str | None) -> str:
        if not requested:
            return current_period(board.reset)
        if not _PERIOD.match(requested):
            raise ApiError(
                422, "invalid_query", "period must look like all, 2026-11-22 or 2026-W47"
            )
        return requested

    def list_boards(self) -> dict[str, Any]:
        boards = [
            {**b.model_dump(), "period": current_period(b.reset)}
            for b in self.ctx.data.leaderboards.values()
        ]
        return {"leaderboards": boards}

    async def submit(self, principal: Principal, board_id: str, body: ScoreIn) -> Written:
        board = self.board(board_id)
        player = principal.target(str(body.player_id) if body.player_id else None)
        result = await repo.submit(
            self.ctx.db,
            board.id,
            board.operator,
            board.reset,
            player,
            body.submission_id,
            body.score,
        )
        if result.outcome == "mismatch":
            raise ApiError(
                422,
                "submission_id_reused",
                "this submission_id was already used with another score",
            )
        if result.outcome == "applied" and result.proj is not None:
            await self.ctx.projections.publish([self._command(result.proj)])
            events.leaderboard_changed(self.ctx, board.id, result.proj[1], player)
        return Written(result.response, replayed=result.outcome == "replayed")

    def _command(self, proj: list[Any]) -> Command:
        board, period, player, version, score, achieved_us = proj
        args = (
            board,
            period,
            player,
            version,
            -score,
            member(achieved_us, player),
            self.ctx.settings.cache_ttl,
        )
        return ("lb_set", args)

    async def records(
        self, board_id: str, period: str | None, cursor: str, limit: int
    ) -> dict[str, Any]:
        board = self.board(board_id)
        when = self.period(board, period)
        if cursor and not cursor.isdigit():
            raise ApiError(422, "invalid_query", "cursor: not a cursor this API returned")
        offset = int(cursor) if cursor else 0
        served = await self._served("lb_range", board.id, when, offset, offset + limit - 1)
        if served is not None:
            records = _records(served[2:], offset)
        else:
            rows = await repo.page(self.ctx.db, board.id, when, offset, limit)
            records = [
                {"rank": offset + i + 1, "player_id": r["player_id"], "score": r["score"]}
                for i, r in enumerate(rows)
            ]
        more = len(records) == limit
        return {
            "leaderboard_id": board.id, "period": when, "records": records,
            "next_cursor": str(offset + limit) if more else None,
        }  # fmt: skip

    async def around(
        self, board_id: str, player: str, period: str | None, limit: int
    ) -> dict[str, Any]:
        board = self.board(board_id)
        when = self.period(board, period)
        half = limit // 2
        served = await self._served("lb_around", board.id, when, player, half)
        if served is not None:
            if int(served[2]) < 0:
                raise ApiError(
                    404, "not_found", f"player {player} has no record on {board.id} ({when})"
                )
            records = _records(served[3:], int(served[2]))
        else:
            found = await repo.around(self.ctx.db, board.id, when, player, half)
            if found is None:
                raise ApiError(
                    404, "not_found", f"player {player} has no record on {board.id} ({when})"
                )
            first, rows = found
            records = [
                {"rank": first + i + 1, "player_id": r["player_id"], "score": r["score"]}
                for i, r in enumerate(rows)
            ]
        return {"leaderboard_id": board.id, "period": when, "player_id": player, "records": records}

    async def _served(self, script: str, board: str, period: str, *args: Arg) -> list[Any] | None:
        """The script's answer from a ready sorted set (rebuilding it once if needed), or None
        when Redis cannot serve it (the caller reads PostgreSQL)."""
        raw = await self.ctx.projections.read(script, board, period, *args)
        if raw is None:
            return None
        if int(raw[1]) == 1:
            return list(raw)
        if not await self._rebuild(board, period, str(raw[0])):
            return None
        raw = await self.ctx.projections.read(script, board, period, *args)
        return list(raw) if raw is not None and int(raw[1]) == 1 else None

    async def _rebuild(self, board: str, period: str, epoch: str) -> bool:
        if len(_rebuild_locks) > 1024:  # one per board and period: forget old periods
            _rebuild_locks.clear()
        lock = _rebuild_locks.setdefault((board, period), asyncio.Lock())
        async with lock:  # one rebuild per board per process; the others then find it ready
            rows = await repo.all_records(self.ctx.db, board, period)
            ttl = self.ctx.settings.cache_ttl
            chunks = [rows[i : i + _LOAD_CHUNK] for i in range(0, len(rows), _LOAD_CHUNK)] or [[]]
            for n, chunk in enumerate(chunks):
                final = "1" if n == len(chunks) - 1 else "0"
                args: list[Arg] = [board, period, ttl, epoch, final]
                for r in chunk:
                    args += [
                        r["player_id"],
                        r["version"],
                        -r["score"],
                        member(r["achieved_us"], r["player_id"]),
                    ]
                if await self.ctx.projections.read("lb_load", *args) != 1:
                    return False  # Redis failed, or the epoch moved on: serve from PostgreSQL
            return True
