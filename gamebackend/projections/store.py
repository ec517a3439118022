"""The Redis projections of balances and ranks: reads, batched writes, and repair.

PostgreSQL is the truth. Projection writes happen after the commit; a failed one never fails
the request: the process stops using Redis (reads go to PostgreSQL), and once Redis answers
again it invalidates every projection (``INCR gb:epoch``) before serving from Redis again, so
nothing written while Redis was away can be served stale. Entries are rebuilt lazily from
PostgreSQL on the next read.

Data traffic goes through the small pipelined client in ``resp.py``; ``redis.asyncio`` does the
management calls (PING for readiness and recovery, INCR of the epoch).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gamebackend.observability import PROJECTION_ERRORS
from gamebackend.projections.resp import RespClient, RespError, encode_args, encode_command
from gamebackend.projections.scripts import EPOCH_KEY, SCRIPTS

__all__ = ["Arg", "Command", "Projections", "connect_redis"]

log = logging.getLogger("gamebackend.projections")

Arg = str | int | float
Command = tuple[str, Sequence[Arg]]
_ERRORS = (RedisError, RespError, OSError, asyncio.TimeoutError)
_SHAS = {name: hashlib.sha1(body.encode()).hexdigest() for name, body in SCRIPTS.items()}
# EVALSHA <sha> 1 <epoch key>, encoded once per script: every projection call starts with it.
_HEADS = {name: encode_args("EVALSHA", sha, 1, EPOCH_KEY) for name, sha in _SHAS.items()}


def connect_redis(url: str, timeout: float = 0.5) -> Redis:
    """A management client that fails fast: no retries, short timeouts."""
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 0),
        max_connections=8,
    )


def _evalsha(name: str, args: Sequence[Arg]) -> bytes:
    return encode_command(args, _HEADS[name])


class Projections:
    """Balances and ranks in Redis, versioned, rebuilt from PostgreSQL on a miss."""

    def __init__(self, url: str, version: str, ttl: int, timeout: float = 0.5) -> None:
        self.redis = connect_redis(url, timeout)
        self.ttl = ttl
        self._resp = RespClient(url, timeout)
        self._version = version
        self._repair_pending = False
        self._queue: list[tuple[list[Command], asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    @property
    def healthy(self) -> bool:
        """False from a Redis failure until the projections were invalidated after recovery."""
        return not self._repair_pending

    async def start(self) -> None:
        try:
            await self._load_scripts()
        except _ERRORS:
            self.mark_failed("Redis unreachable at start")

    async def close(self) -> None:
        if self._flusher is not None:
            await asyncio.wait([self._flusher], timeout=2)
        await self._resp.close()
        await self.redis.aclose()

    def mark_failed(self, why: str = "Redis call failed") -> None:
        PROJECTION_ERRORS.labels(self._version).inc()
        if not self._repair_pending:
            self._repair_pending = True
            log.warning("%s: serving from PostgreSQL until Redis answers again", why)

    async def repair(self) -> bool:
        """If a failure is pending and Redis answers: invalidate everything. True when healthy."""
        if not self._repair_pending:
            return True
        try:
            await self.redis.ping()
            if self._flusher is not None:  # writes in flight predate the invalidation
                await asyncio.wait([self._flusher], timeout=2)
            await self._load_scripts()
            epoch = await self.redis.incr(EPOCH_KEY)
        except _ERRORS:
            return False
        self._repair_pending = False
        log.warning("Redis answers again: projections invalidated (epoch %s)", epoch)
        return True

    async def invalidate(self) -> None:
        """Invalidate every projection now (or at recovery if Redis is away)."""
        self._repair_pending = True
        await self.repair()

    async def _load_scripts(self) -> None:
        replies = await self._resp.execute_many([("SCRIPT", "LOAD", b) for b in SCRIPTS.values()])
        for reply in replies:
            if isinstance(reply, RespError):
                raise reply

    async def eval(self, name: str, *args: Arg) -> Any:
        """Run one script; raise on failure (callers decide what failure means)."""
        (reply,) = await self._resp.execute_many([_evalsha(name, args)])
        if isinstance(reply, RespError) and str(reply).startswith("NOSCRIPT"):
            await self._load_scripts()  # Redis restarted empty
            (reply,) = await self._resp.execute_many([_evalsha(name, args)])
        if isinstance(reply, RespError):
            raise reply
        return reply

    async def read(self, name: str, *args: Arg) -> Any:
        """A read: None when Redis is away or failing (the caller reads PostgreSQL)."""
        if self._repair_pending:
            return None
        try:
            return await self.eval(name, *args)
        except _ERRORS:
            self.mark_failed()
            return None

    # -- batched writes ------------------------------------------------------------------
    async def publish(self, commands: list[Command]) -> None:
        """Apply projection writes after a commit. Concurrent requests share one round trip;
        this waits for it (read-your-writes) but never raises."""
        if not commands or self._repair_pending:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._queue.append((commands, done))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            try:
                await self._send([cmd for commands, _ in batch for cmd in commands])
            except _ERRORS:
                self.mark_failed()
            except Exception:
                log.exception("projection write failed")
                self.mark_failed()
            finally:
                for _, done in batch:
                    if not done.done():
                        done.set_result(None)

    async def _send(self, commands: list[Command]) -> None:
        wire = [_evalsha(name, args) for name, args in commands]
        replies = await self._resp.execute_many(wire)
        errors = [r for r in replies if isinstance(r, RespError)]
        if errors and all(str(e).startswith("NOSCRIPT") for e in errors):
            # Redis restarted empty: load the scripts and resend (versioned, so idempotent).
            await self._load_scripts()
            replies = await self._resp.execute_many(wire)
            errors = [r for r in replies if isinstance(r, RespError)]
        if errors:
            raise errors[0]
