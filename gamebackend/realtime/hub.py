"""Local fan-out: which of this process's connections want which topic.

An event arrives once per process (bus.py) already encoded as the JSON text every subscriber
receives. The hub frames it once and writes the same bytes to each subscriber: the work per
subscriber is one socket write, never a serialisation.
"""

from __future__ import annotations

import asyncio
import time

import orjson

from gamebackend.realtime.bus import Bus
from gamebackend.realtime.connection import Connection
from gamebackend.realtime.messages import PUSH_TYPES
from gamebackend.realtime.metrics import WS_FANOUT, WS_MESSAGES
from gamebackend.realtime.protocol import frame_text

__all__ = ["Hub"]


class Hub:
    """Topic -> local subscribers; the bus calls ``deliver`` for every event of a topic."""

    def __init__(self, version: str, chunk: int) -> None:
        self.bus: Bus | None = None
        self.topics: dict[str, set[Connection]] = {}
        self._version = version
        self._chunk = chunk
        self._fanout = WS_FANOUT.labels(version)
        self._out: dict[str, object] = {}

    async def subscribe(self, conn: Connection, topic: str) -> None:
        subscribers = self.topics.get(topic)
        if subscribers is None:
            subscribers = self.topics[topic] = set()
        subscribers.add(conn)
        if topic not in conn.topics:
            conn.topics.append(topic)
        assert self.bus is not None
        await self.bus.want(topic)

    def unsubscribe(self, conn: Connection, topic: str) -> None:
        if topic in conn.topics:
            conn.topics.remove(topic)
        subscribers = self.topics.get(topic)
        if subscribers is None:
            return
        subscribers.discard(conn)
        if not subscribers:
            del self.topics[topic]
            if self.bus is not None:
                self.bus.drop(topic)

    def leave_all(self, conn: Connection) -> list[str]:
        """Unsubscribe ``conn`` from everything; returns the topics it had."""
        topics = list(conn.topics)
        for topic in topics:
            self.unsubscribe(conn, topic)
        return topics

    async def deliver(self, topic: str, data: bytes) -> None:
        subscribers = self.topics.get(topic)
        if not subscribers:
            return
        try:
            head = orjson.loads(data)
            kind, published = str(head["type"]), float(head["ts"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return  # not one of ours
        text, frame = data.decode(), frame_text(data)
        targets = list(subscribers)
        for start in range(0, len(targets), self._chunk):
            if start:
                await asyncio.sleep(0)  # let requests through between chunks
            for conn in targets[start : start + self._chunk]:
                conn.push(text, frame)
        self._fanout.observe(max(0.0, time.time() - published))
        self._count(kind, len(targets))

    def _count(self, kind: str, n: int) -> None:
        if kind not in PUSH_TYPES:
            kind = "other"  # published by someone else: keep the label set bounded
        counter = self._out.get(kind)
        if counter is None:
            counter = self._out[kind] = WS_MESSAGES.labels("out", kind, self._version)
        counter.inc(n)  # type: ignore[attr-defined]
