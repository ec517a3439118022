"""Who is in a presence channel, across every gateway process, in Redis.

Keys (all changed by Lua scripts, so each change is atomic):
- ``gb:pr:ch:<channel>`` hash player -> number of connections present (any process);
- ``gb:pr:in:<instance>`` hash "<channel>\\n<player>" -> connections held by that process;
- ``gb:pr:hb:<instance>`` the process's heartbeat, expiring after ``presence_ttl``;
- ``gb:pr:instances`` set of processes that may hold presences.

A player joins when its first connection subscribes to ``presence:<channel>`` and leaves with
its last one. Each process renews its heartbeat every third of the TTL and reaps the processes
whose heartbeat expired (a SIGKILLed gateway): their presences are removed and ``presence.left``
is published for each player who is then gone. The scripts touch keys they compute themselves,
so they assume one Redis server (not a cluster).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import Counter
from collections.abc import Callable
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

__all__ = ["Presence"]

log = logging.getLogger("gamebackend.realtime")

_INSTANCES = "gb:pr:instances"
_ERRORS = (RedisError, OSError, asyncio.TimeoutError)

# KEYS: channel hash, instance hash; ARGV: player, field -> connections of the player now
_JOIN = """
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], 1)
redis.call('HINCRBY', KEYS[2], ARGV[2], 1)
return n
"""
# -> connections of the player left in the channel; -1 if this process held none (reaped)
_LEAVE = """
local m = redis.call('HINCRBY', KEYS[2], ARGV[2], -1)
if m <= 0 then redis.call('HDEL', KEYS[2], ARGV[2]) end
if m < 0 then return -1 end
local n = redis.call('HINCRBY', KEYS[1], ARGV[1], -1)
if n <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) return 0 end
return n
"""
# KEYS: heartbeat, instance hash, instances set; ARGV: instance -> fields of players now gone
_REAP = """
if redis.call('EXISTS', KEYS[1]) == 1 then return {} end
local fields = redis.call('HGETALL', KEYS[2])
local gone = {}
for i = 1, #fields, 2 do
  local f = fields[i]
  local sep = string.find(f, '\\n', 1, true)
  local key = 'gb:pr:ch:' .. string.sub(f, 1, sep - 1)
  local player = string.sub(f, sep + 1)
  local n = redis.call('HINCRBY', key, player, -tonumber(fields[i + 1]))
  if n <= 0 then redis.call('HDEL', key, player) table.insert(gone, f) end
end
redis.call('DEL', KEYS[2])
redis.call('SREM', KEYS[3], ARGV[1])
return gone
"""

Announce = Callable[[str, str, str, str], None]  # (kind, channel, player, why)


def _channel_key(channel: str) -> str:
    return f"gb:pr:ch:{channel}"


class Presence:
    """This process's presences, its heartbeat, and the reaping of dead processes."""

    def __init__(self, redis: Redis, ttl: float, announce: Announce) -> None:
        self.redis = redis
        self.ttl = ttl
        self.instance = str(uuid.uuid4())
        self._announce = announce
        self._held: Counter[tuple[str, str]] = Counter()  # (channel, player) -> connections
        self._task: asyncio.Task[None] | None = None
        self._in = f"gb:pr:in:{self.instance}"
        self._hb = f"gb:pr:hb:{self.instance}"
        self._join_script = redis.register_script(_JOIN)
        self._leave_script = redis.register_script(_LEAVE)
        self._reap_script = redis.register_script(_REAP)

    async def start(self) -> None:
        with contextlib.suppress(*_ERRORS):
            await self._beat()
        self._task = asyncio.create_task(self._run(), name="gamebackend-presence")

    async def stop(self) -> None:
        """Leave every channel (a clean shutdown announces its players' departure)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        with contextlib.suppress(*_ERRORS):
            await self.redis.delete(self._hb)
            await self._reap(self.instance)

    async def join(self, channel: str, player: str) -> None:
        field = f"{channel}\n{player}"
        keys = [_channel_key(channel), self._in]
        n = await self._join_script(keys=keys, args=[player, field])
        self._held[(channel, player)] += 1
        if int(n) == 1:
            self._announce("presence.joined", channel, player, "joined")

    async def leave(self, channel: str, player: str) -> None:
        key = (channel, player)
        if self._held[key] <= 1:
            del self._held[key]
        else:
            self._held[key] -= 1
        field = f"{channel}\n{player}"
        n = await self._leave_script(keys=[_channel_key(channel), self._in], args=[player, field])
        if int(n) == 0:
            self._announce("presence.left", channel, player, "left")

    async def members(self, channel: str, limit: int) -> tuple[int, list[str]]:
        """(number of players present, up to ``limit`` of them)."""
        key = _channel_key(channel)
        count = int(await self.redis.hlen(key))
        if count == 0 or limit == 0:
            return count, []
        names: Any = await (
            self.redis.hkeys(key) if count <= limit else self.redis.hrandfield(key, limit)
        )
        return count, sorted(n.decode() if isinstance(n, bytes) else str(n) for n in names)

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            try:
                await self._beat()
                await self._reap_dead()
            except _ERRORS as exc:
                log.warning("presence heartbeat: %s: %s", type(exc).__name__, exc)

    async def _beat(self) -> None:
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self._hb, b"1", px=int(self.ttl * 1000))
        pipe.sadd(_INSTANCES, self.instance)
        pipe.exists(self._in)
        *_, held = await pipe.execute()
        if self._held and not held:
            await self._rejoin()  # we stalled past the TTL and were reaped: join again

    async def _rejoin(self) -> None:
        held, self._held = dict(self._held), Counter()
        for (channel, player), count in held.items():
            for _ in range(count):
                await self.join(channel, player)

    async def _reap_dead(self) -> None:
        for raw in await self.redis.smembers(_INSTANCES):
            instance = raw.decode() if isinstance(raw, bytes) else str(raw)
            if instance != self.instance:
                await self._reap(instance)

    async def _reap(self, instance: str) -> None:
        keys = [f"gb:pr:hb:{instance}", f"gb:pr:in:{instance}", _INSTANCES]
        gone = await self._reap_script(keys=keys, args=[instance])
        for field in gone or ():
            text = field.decode() if isinstance(field, bytes) else str(field)
            channel, _, player = text.partition("\n")
            why = "left" if instance == self.instance else "expired"
            self._announce("presence.left", channel, player, why)
