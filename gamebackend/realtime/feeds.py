"""What the domains' commits become on the bus: ``wallet.updated`` and ``leaderboard.updated``.

Leaderboard updates are coalesced per board and period: while one snapshot is being read and
published, further score changes only mark the board dirty and name the players who moved; the
next snapshot carries all of them. Subscribers thus see every rank change, in at most one
message per snapshot read, however many scores arrive per second.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gamebackend.errors import ApiError

if TYPE_CHECKING:
    from gamebackend.context import AppContext

__all__ = ["TOP_N", "LeaderboardFeed", "wallet_events"]

log = logging.getLogger("gamebackend.realtime")

TOP_N = 10
_MAX_CHANGES = 20

Publish = Callable[[str, str, dict[str, Any]], None]


def wallet_events(proj: list[Any] | None) -> dict[str, dict[str, Any]]:
    """Per player, the ``wallet.updated`` payload of a write's projection rows
    ``[player, currency, version, balance]*``: the balances that changed, with their versions
    (a client ignores a version it has already seen)."""
    out: dict[str, dict[str, Any]] = {}
    for player, currency, version, balance in proj or ():
        entry = out.setdefault(str(player), {"balances": {}, "versions": {}})
        entry["balances"][currency] = int(balance)
        entry["versions"][currency] = int(version)
    return out


class LeaderboardFeed:
    """Turns score commits into ``leaderboard.updated`` snapshots on ``leaderboard:<id>``."""

    def __init__(self, ctx: AppContext, publish: Publish) -> None:
        self._ctx = ctx
        self._publish = publish
        self._dirty: dict[tuple[str, str], list[str]] = {}
        self._tasks: dict[tuple[str, str], asyncio.Task[None]] = {}

    def changed(self, board: str, period: str, player: str) -> None:
        key = (board, period)
        moved = self._dirty.setdefault(key, [])
        if player not in moved:
            moved.append(player)
        if key not in self._tasks:
            task = asyncio.get_running_loop().create_task(self._run(key))
            self._tasks[key] = task

    async def stop(self) -> None:
        if self._tasks:
            await asyncio.wait(list(self._tasks.values()), timeout=2)

    async def _run(self, key: tuple[str, str]) -> None:
        try:
            while self._dirty.get(key):
                moved = self._dirty.pop(key)
                try:
                    payload = await self.snapshot(key[0], key[1], moved)
                except Exception as exc:  # the score is committed; only the push is lost
                    log.warning("leaderboard push for %s: %s: %s", key[0], type(exc).__name__, exc)
                    continue
                self._publish(f"leaderboard:{key[0]}", "leaderboard.updated", payload)
        finally:
            del self._tasks[key]

    async def top(self, board: str) -> dict[str, Any]:
        """The current period's top entries (what a new subscriber starts from)."""
        from gamebackend.leaderboards.service import LeaderboardService

        page = await LeaderboardService(self._ctx).records(board, None, "", TOP_N)
        return {"period": page["period"], "top": page["records"]}

    async def snapshot(self, board: str, period: str, moved: list[str]) -> dict[str, Any]:
        """The board's top entries and the current rank of each player who moved."""
        from gamebackend.leaderboards.service import LeaderboardService

        svc = LeaderboardService(self._ctx)
        top = await svc.records(board, period, "", TOP_N)
        changes: list[dict[str, Any]] = []
        for player in moved[:_MAX_CHANGES]:
            try:
                around = await svc.around(board, player, period, 1)
            except ApiError:
                continue  # no record in this period (the period just rolled over)
            changes.extend(r for r in around["records"] if r["player_id"] == player)
        return {
            "leaderboard_id": board, "period": period, "top": top["records"],
            "changes": changes, "more_changes": max(0, len(moved) - _MAX_CHANGES),
        }  # fmt: skip
