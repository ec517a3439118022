"""The gateway's uvicorn WebSocket protocol: uvicorn's own sans-I/O protocol (``websockets``),
made lean for tens of thousands of mostly idle connections.

``gamebackend serve`` runs uvicorn with ``ws="gamebackend.realtime.protocol:GatewayProtocol"``.
Changes to the stock protocol (memory measured in benchmarks/realtime.py):

- lighter primitives for the per-connection receive queue and the "socket writable" flag (the
  stock ``asyncio.Queue`` and ``asyncio.Event`` hold five ring buffers of ~600 bytes between them);
- the handshake's request and response objects are dropped once the connection is accepted;
- uvicorn's INFO lines for WebSockets (which include the query string, so the ``token``) are
  not logged;
- the protocol advertises itself in the ASGI scope (``scope["extensions"][FRAMES_EXTENSION]``)
  so the gateway can write one pre-built frame to many connections (``write_frame``) without a
  task per send, and close a slow consumer without waiting for it to drain (``close_now``).

Without this protocol (any other ASGI server) the gateway still works through plain ASGI sends.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.http11 import Request

__all__ = ["FRAMES_EXTENSION", "GatewayProtocol", "frame_text"]

FRAMES_EXTENSION = "gamebackend.frames"


class _QuietLogger(logging.LoggerAdapter):
    """uvicorn's logger without its INFO and DEBUG lines: for WebSockets they carry the query
    string, so the token. (An adapter, not a logger level: uvicorn's logging config resets the
    levels of existing loggers.)"""

    level = logging.WARNING

    def isEnabledFor(self, level: int) -> bool:
        return level >= logging.WARNING and self.logger.isEnabledFor(level)


_LOG = _QuietLogger(logging.getLogger("uvicorn.error"), {})


def frame_text(data: bytes) -> bytes:
    """One unfragmented, unmasked text frame (what a server sends) carrying ``data``."""
    size = len(data)
    if size < 126:
        head = bytes((0x81, size))
    elif size < 65536:
        head = bytes((0x81, 126)) + size.to_bytes(2, "big")
    else:
        head = bytes((0x81, 127)) + size.to_bytes(8, "big")
    return head + data


class _Flag:
    """The subset of ``asyncio.Event`` uvicorn uses, with no buffer until someone waits."""

    __slots__ = ("_set", "_waiter")

    def __init__(self) -> None:
        self._set = True
        self._waiter: asyncio.Future[None] | None = None

    def is_set(self) -> bool:
        return self._set

    def set(self) -> None:
        self._set = True
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def clear(self) -> None:
        self._set = False

    async def wait(self) -> bool:
        while not self._set:
            if self._waiter is None:
                self._waiter = asyncio.get_running_loop().create_future()
            await asyncio.shield(self._waiter)  # shared by every waiter: none may cancel it
        return True


class _Inbox:
    """The subset of ``asyncio.Queue`` uvicorn uses (one consumer: the ASGI app)."""

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: deque[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        self._items.append(item)
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def empty(self) -> bool:
        return not self._items

    async def get(self) -> Any:
        while not self._items:
            if self._waiter is None or self._waiter.done():
                self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
        item = self._items.popleft()
        if not self._items:
            self._items = None  # an idle connection holds no ring buffer
        return item


class GatewayProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol with a smaller idle footprint and a frame fast path."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.logger = _LOG  # type: ignore[assignment]  # uvicorn logs the query (the token)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Flag()  # type: ignore[assignment]

    def handle_connect(self, event: Request) -> None:
        super().handle_connect(event)
        if not self.close_sent:  # the upgrade was accepted: the app task is about to start
            self.scope["extensions"][FRAMES_EXTENSION] = self  # type: ignore[assignment]

    async def send(self, message: Any) -> None:
        await super().send(message)
        if self.handshake_complete and getattr(self, "response", None) is not None:
            # Only the handshake needs these; an open connection keeps only its state machine.
            self.request = None  # type: ignore[assignment]
            self.response = None  # type: ignore[assignment]

    def write_frame(self, frame: bytes) -> bool:
        """Write a pre-built frame now if the connection is open and the socket keeps up.
        False means "not written": the caller queues the message instead."""
        if (
            not self.handshake_complete
            or self.close_sent
            or self.disconnected
            or not self.writable.is_set()
            or self.transport.is_closing()
        ):
            return False
        self.transport.write(frame)
        return True

    def close_now(self, code: int, reason: str) -> None:
        """Send a close frame without waiting for the peer to drain what is buffered; a peer
        that has not completed the closing handshake after the close timeout is cut off."""
        if not self.handshake_complete or self.close_sent or self.disconnected:
            return
        self.queue.put_nowait({"type": "websocket.disconnect", "code": code, "reason": reason})
        self.conn.send_close(code, reason)
        self.transport.write(b"".join(self.conn.data_to_send()))
        self.close_sent = True
        self.stop_keepalive()
        if self.read_paused:
            self.read_paused = False
            self.transport.resume_reading()
        self.close_timer = self.loop.call_later(self.close_timeout, self.transport.abort)
