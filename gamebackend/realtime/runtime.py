"""The realtime half of one API process: bus, hub, presence, feeds and the matchmaker.

``Realtime.start(ctx)`` runs in the app's lifespan (``AppContext.open``) and ``stop()`` before
the context closes. Other domains reach it only through ``gamebackend.events``.
"""

from __future__ import annotations

import contextlib
import logging
from typing import TYPE_CHECKING, Any

from gamebackend.matchmaking.rules import MatchRules, load_rules
from gamebackend.matchmaking.worker import Matchmaker
from gamebackend.realtime.bus import Bus
from gamebackend.realtime.connection import Connection
from gamebackend.realtime.feeds import LeaderboardFeed
from gamebackend.realtime.hub import Hub
from gamebackend.realtime.messages import CLIENT_TYPES, answer, encode_event
from gamebackend.realtime.metrics import WS_CONNECTIONS, WS_MESSAGES, WS_REJECTED, WS_SLOW_CLOSES
from gamebackend.realtime.presence import Presence
from gamebackend.realtime.settings import RealtimeSettings, load_realtime_settings

if TYPE_CHECKING:
    from gamebackend.context import AppContext

__all__ = ["Realtime"]

log = logging.getLogger("gamebackend.realtime")


class Realtime:
    """Everything realtime in this process; one per AppContext."""

    def __init__(self, ctx: AppContext, settings: RealtimeSettings, rules: MatchRules) -> None:
        version = ctx.settings.version
        assert ctx.settings.redis_url and ctx.settings.database_url
        self.settings = settings
        self.rules = rules
        self.version = version
        self.board_ids = set(ctx.data.leaderboards)
        self.hub = Hub(version, settings.fanout_chunk)
        self.bus = Bus(ctx.settings.redis_url, self.hub.deliver, version)
        self.hub.bus = self.bus
        self.presence = Presence(self.bus.redis, settings.presence_ttl, self._announce)
        self.leaderboards = LeaderboardFeed(ctx, self.publish)
        self.matchmaker = (
            Matchmaker(ctx.settings.database_url, rules, self.publish, version)
            if rules.enabled
            else None
        )
        self._connections = WS_CONNECTIONS.labels(version)
        self._slow = WS_SLOW_CLOSES.labels(version)
        self._in = {t: WS_MESSAGES.labels("in", t, version) for t in [*CLIENT_TYPES, "invalid"]}
        self._out: dict[str, Any] = {}

    @classmethod
    async def start(cls, ctx: AppContext) -> Realtime:
        rt = cls(ctx, load_realtime_settings(), load_rules())
        await rt.bus.start()
        await rt.presence.start()
        if rt.matchmaker is not None:
            await rt.matchmaker.start()
        return rt

    async def stop(self) -> None:
        for step in (
            self.matchmaker.stop() if self.matchmaker else None,
            self.leaderboards.stop(),
            self.presence.stop(),
            self.bus.stop(),
        ):
            if step is None:
                continue
            try:
                await step
            except Exception as exc:
                log.warning("realtime shutdown: %s: %s", type(exc).__name__, exc)

    # -- events --------------------------------------------------------------------------
    def publish(self, topic: str, kind: str, payload: dict[str, Any]) -> None:
        """Publish one event to every subscriber of ``topic``, in every process."""
        self.bus.publish(topic, encode_event(kind, topic, payload))

    def _announce(self, kind: str, channel: str, player: str, why: str) -> None:
        payload = {"channel": channel, "player_id": player, "reason": why}
        self.publish(f"presence:{channel}", kind, payload)

    # -- connections ---------------------------------------------------------------------
    def opened(self, conn: Connection) -> None:
        self._connections.inc()

    async def closed(self, conn: Connection) -> None:
        self._connections.dec()
        for topic in self.hub.leave_all(conn):
            if topic.startswith("presence:"):
                with contextlib.suppress(Exception):
                    await self.presence.leave(topic.partition(":")[2], conn.player_id)

    def rejected(self, reason: str) -> None:
        WS_REJECTED.labels(reason, self.version).inc()

    def slow_closed(self) -> None:
        self._slow.inc()

    def count_in(self, kind: str) -> None:
        self._in.get(kind, self._in["invalid"]).inc()

    def reply(self, conn: Connection, kind: str, cid: str | None, payload: dict[str, Any]) -> None:
        counter = self._out.get(kind)
        if counter is None:
            counter = self._out[kind] = WS_MESSAGES.labels("out", kind, self.version)
        counter.inc()
        conn.push(answer(kind, cid, payload))
