"""Events between processes: Redis pub/sub, one subscription per process per topic.

Every topic is the Redis channel ``gb:ev:<topic>``. A process subscribes to a channel while at
least one of its connections wants the topic, and fans each message out locally (the Hub). One
task owns the subscriber connection, so subscribe/unsubscribe requests are queued to it and
confirmed when Redis acknowledges them: a client told ``subscribed`` receives every event
published after that.

Publishing is fire-and-forget for the caller: events join a bounded buffer that one task sends
to Redis in pipelined batches, in order. Delivery is at most once (a Redis outage drops events;
the state they describe stays readable over HTTP).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from gamebackend.projections.resp import RespClient, RespError
from gamebackend.realtime.metrics import EVENTS

__all__ = ["CHANNEL_PREFIX", "Bus"]

log = logging.getLogger("gamebackend.realtime")

CHANNEL_PREFIX = "gb:ev:"
_PREFIX = CHANNEL_PREFIX.encode()
_POLL = 0.02  # how long the reader waits for a message before serving subscription requests
_OUTBOX = 50_000
_ERRORS = (RedisError, RespError, OSError, asyncio.TimeoutError)

Deliver = Callable[[str, bytes], Awaitable[None]]


def _client(url: str, timeout: float | None) -> Redis:
    return Redis.from_url(
        url, socket_timeout=timeout, socket_connect_timeout=2.0, retry=Retry(NoBackoff(), 0)
    )


class Bus:
    """Publishes events and keeps this process subscribed to the topics it needs."""

    def __init__(self, redis_url: str, deliver: Deliver, version: str) -> None:
        self._deliver = deliver
        self._version = version
        self.redis = _client(redis_url, 2.0)
        # Publishing is on every write's path: the lean pipelined client (one write per batch,
        # ~25 us of CPU per command instead of redis-py's ~170 us; see projections/resp.py).
        self._publisher = RespClient(redis_url, timeout=2.0)
        self._sub = _client(redis_url, None)
        self._pubsub = self._sub.pubsub(ignore_subscribe_messages=False)
        self._wanted: set[str] = set()
        self._active: set[str] = set()
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._wake = asyncio.Event()
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._flusher: asyncio.Task[None] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._published = EVENTS.labels("published", version)
        self._dropped = EVENTS.labels("dropped", version)

    async def start(self) -> None:
        self._reader = asyncio.create_task(self._read(), name="gamebackend-bus")

    async def stop(self) -> None:
        if self._flusher is not None:
            await asyncio.wait([self._flusher], timeout=2)
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        with contextlib.suppress(*_ERRORS):
            await self._pubsub.aclose()
        await self._sub.aclose()
        await self._publisher.close()
        await self.redis.aclose()

    # -- publishing ----------------------------------------------------------------------
    def publish(self, topic: str, message: bytes) -> None:
        """Queue one encoded event for ``topic``; never blocks, never raises."""
        if len(self._outbox) >= _OUTBOX:
            self._dropped.inc()
            return
        self._outbox.append((CHANNEL_PREFIX + topic, message))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.get_running_loop().create_task(self._flush())

    async def _flush(self) -> None:
        while self._outbox:
            batch = list(self._outbox)
            self._outbox.clear()
            try:
                replies = await self._publisher.execute_many(
                    [("PUBLISH", channel, message) for channel, message in batch]
                )
                failed = next((r for r in replies if isinstance(r, RespError)), None)
                if failed is not None:
                    raise failed
                self._published.inc(len(batch))
            except _ERRORS as exc:
                self._dropped.inc(len(batch))
                log.warning("events: %d dropped (%s: %s)", len(batch), type(exc).__name__, exc)

    # -- subscribing ---------------------------------------------------------------------
    async def want(self, topic: str, timeout: float = 5.0) -> None:
        """Subscribe this process to ``topic``; returns once Redis has confirmed it (raises
        TimeoutError when Redis does not answer in time)."""
        self._wanted.add(topic)
        done = self._confirmed.get(topic)
        if done is None:
            if topic in self._active:
                return  # subscribed and confirmed
            done = asyncio.get_running_loop().create_future()
            self._confirmed[topic] = done
            self._wake.set()
        async with asyncio.timeout(timeout):
            await asyncio.shield(done)

    def drop(self, topic: str) -> None:
        """This process no longer needs ``topic``."""
        self._wanted.discard(topic)
        self._wake.set()

    async def _read(self) -> None:
        backoff = 0.1
        while True:
            try:
                await self._reconcile()
                if not self._active and not self._confirmed:
                    self._wake.clear()
                    with contextlib.suppress(asyncio.TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=1.0)
                    continue
                message = await self._pubsub.get_message(timeout=_POLL)
                while message is not None:
                    await self._handle(message)
                    message = await self._pubsub.get_message(timeout=0.0)
                backoff = 0.1
            except asyncio.CancelledError:
                raise
            except _ERRORS as exc:
                log.warning("event subscriber: %s: %s", type(exc).__name__, exc)
                self._active.clear()  # resubscribe everything once Redis answers
                with contextlib.suppress(*_ERRORS):
                    await self._pubsub.aclose()
                self._pubsub = self._sub.pubsub(ignore_subscribe_messages=False)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 2.0)
            except Exception:
                log.exception("event subscriber failed; restarting it")
                await asyncio.sleep(backoff)

    async def _reconcile(self) -> None:
        for topic in [t for t in self._confirmed if t not in self._wanted]:
            # given up before it was sent: release whoever waits (nobody needs it any more)
            if topic not in self._active:
                self._confirmed.pop(topic).set_result(None)
        add = sorted(self._wanted - self._active)
        remove = sorted(self._active - self._wanted)
        if add:
            await self._pubsub.subscribe(*(CHANNEL_PREFIX + t for t in add))
            self._active.update(add)  # confirmed for callers when Redis acknowledges
        if remove:
            await self._pubsub.unsubscribe(*(CHANNEL_PREFIX + t for t in remove))
            self._active.difference_update(remove)

    async def _handle(self, message: dict[str, Any]) -> None:
        kind = message["type"]
        channel: bytes = message["channel"]
        topic = channel[len(_PREFIX) :].decode() if channel.startswith(_PREFIX) else ""
        if kind == "message":
            await self._deliver(topic, message["data"])
        elif kind == "subscribe":
            done = self._confirmed.pop(topic, None)
            if done is not None and not done.done():
                done.set_result(None)
