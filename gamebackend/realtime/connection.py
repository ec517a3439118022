"""One client connection: its bounded send queue and its subscriptions.

Sending never blocks the caller (the hub writes to thousands of connections in a loop). A
message goes straight to the socket when nothing is queued and the socket keeps up; otherwise it
joins the connection's queue, drained by a task that exists only while the queue is not empty.
A queue that reaches its bound means the client does not read: the connection is closed with
1013 (try again later), counted, and its queue freed, so a slow client never grows memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any, Protocol

from gamebackend.realtime.protocol import frame_text

__all__ = ["SLOW_CONSUMER", "Connection", "FrameWriter"]

log = logging.getLogger("gamebackend.realtime")

SLOW_CONSUMER = 1013
_CLOSE_TIMEOUT = 5.0

Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class FrameWriter(Protocol):
    """What the gateway's uvicorn protocol offers (gamebackend.realtime.protocol)."""

    def write_frame(self, frame: bytes) -> bool: ...

    def close_now(self, code: int, reason: str) -> None: ...


class Connection:
    """A player's WebSocket: ``push`` never blocks; ``topics`` are its internal topic names."""

    __slots__ = ("_sender", "closed", "limit", "on_slow", "player_id", "queue", "send", "topics",
                 "writer")  # fmt: skip

    def __init__(
        self, player_id: str, send: Send, writer: FrameWriter | None, limit: int,
        on_slow: Callable[[], None],
    ) -> None:  # fmt: skip
        self.player_id = player_id
        self.send = send
        self.writer = writer
        self.limit = limit
        self.on_slow = on_slow
        self.queue: deque[str] | None = None
        self.topics: list[str] = []
        self.closed = False
        self._sender: asyncio.Task[None] | None = None

    def push(self, text: str, frame: bytes | None = None) -> None:
        """Send ``text`` (``frame`` is the same text, pre-framed, when many share it)."""
        if self.closed:
            return
        direct = self.queue is None and self._sender is None and self.writer is not None
        if direct and self.writer.write_frame(frame or frame_text(text.encode())):  # type: ignore[union-attr]
            return
        if self.queue is None:
            self.queue = deque()
        elif len(self.queue) >= self.limit:
            self._close_slow()
            return
        self.queue.append(text)
        if self._sender is None:
            self._sender = asyncio.get_running_loop().create_task(self._drain())

    async def _drain(self) -> None:
        try:
            while self.queue:
                text = self.queue.popleft()
                await self.send({"type": "websocket.send", "text": text})
        except Exception:  # the client went away mid-send: the receive loop sees it too
            self.closed = True
        finally:
            self._sender = None
            if not self.queue:
                self.queue = None

    def _close_slow(self) -> None:
        self.closed = True
        self.queue = None
        if self._sender is not None:
            self._sender.cancel()
            self._sender = None
        self.on_slow()
        if self.writer is not None:
            self.writer.close_now(SLOW_CONSUMER, "send queue full")
        else:  # any other ASGI server: close through ASGI, bounded in time
            asyncio.get_running_loop().create_task(self._close_via_asgi())

    async def _close_via_asgi(self) -> None:
        message = {"type": "websocket.close", "code": SLOW_CONSUMER, "reason": "send queue full"}
        with contextlib.suppress(Exception):
            async with asyncio.timeout(_CLOSE_TIMEOUT):
                await self.send(message)
