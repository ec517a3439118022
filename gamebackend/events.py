"""Realtime events: what the other domains call after a commit.

    await events.publish(ctx, "wallet:<player_id>", "wallet.updated", payload)

reaches every WebSocket subscribed to that topic, in every gateway process (Redis pub/sub; see
docs/realtime.md). Topics: ``wallet:<player>``, ``matchmaking:<player>``, ``leaderboard:<id>``,
``presence:<channel>``. Publishing never raises and never waits for Redis: the commit has
happened, the event is best effort (at most once), and the state stays readable over HTTP.
A process without the realtime runtime (``ctx.realtime is None``) publishes nothing.

A game server that is not an API process publishes with ``publish_to(redis, ...)``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gamebackend.realtime.bus import CHANNEL_PREFIX
from gamebackend.realtime.feeds import wallet_events
from gamebackend.realtime.messages import encode_event

if TYPE_CHECKING:
    from redis.asyncio import Redis

    from gamebackend.context import AppContext

__all__ = ["leaderboard_changed", "publish", "publish_to", "wallets_changed"]


async def publish(ctx: AppContext, topic: str, kind: str, payload: dict[str, Any]) -> None:
    """Publish one event (``kind`` like ``wallet.updated``) to ``topic``."""
    if ctx.realtime is not None:
        ctx.realtime.publish(topic, kind, payload)


async def publish_to(redis: Redis, topic: str, kind: str, payload: dict[str, Any]) -> int:
    """Publish through any Redis client; returns the number of gateway processes reached."""
    return int(await redis.publish(CHANNEL_PREFIX + topic, encode_event(kind, topic, payload)))


async def wallets_changed(ctx: AppContext, proj: list[Any] | None) -> None:
    """After a committed money move: ``wallet.updated`` to each player whose balance changed
    (``proj``: the write's ``[player, currency, version, balance]`` rows)."""
    for player, payload in wallet_events(proj).items():
        await publish(ctx, f"wallet:{player}", "wallet.updated", payload)


def leaderboard_changed(ctx: AppContext, board: str, period: str, player: str) -> None:
    """After a committed score change: a ``leaderboard.updated`` snapshot soon (coalesced)."""
    if ctx.realtime is not None:
        ctx.realtime.leaderboards.changed(board, period, player)
