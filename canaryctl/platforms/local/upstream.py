"""Connections from the router to one backend process, pooled and kept alive.

An ``UpstreamConnection`` carries one exchange at a time. It forwards the answer's bytes to the
client as they arrive (no re-serialisation) and parses them only to learn the status and where
the answer ends, so the connection can go back to its pool. After a ``101 Switching Protocols``
it becomes one half of a byte tunnel (WebSocket passthrough).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

import httptools

if TYPE_CHECKING:
    from canaryctl.platforms.local.proxy import Exchange

__all__ = ["Upstream", "UpstreamConnection"]


class Upstream:
    """One backend process (``host:port``) with a pool of idle keep-alive connections."""

    __slots__ = ("host", "idle", "inflight", "max_idle", "port", "retired", "tunnels")

    def __init__(self, host: str, port: int, max_idle: int = 256) -> None:
        self.host, self.port = host, port
        self.idle: list[UpstreamConnection] = []
        self.inflight = 0  # exchanges started here and not finished (drain waits for zero)
        self.tunnels = 0  # open WebSocket tunnels
        self.max_idle = max_idle
        self.retired = False

    @property
    def addr(self) -> str:
        return f"{self.host}:{self.port}"

    def take_idle(self) -> UpstreamConnection | None:
        idle = self.idle
        while idle:
            conn = idle.pop()
            if not conn.closed:
                return conn
        return None

    def release(self, conn: UpstreamConnection) -> None:
        if self.retired or conn.closed or not conn.keep_alive or len(self.idle) >= self.max_idle:
            conn.close()
            return
        conn.idle_since = conn.loop.time()
        self.idle.append(conn)

    def retire(self) -> None:
        """Take no new exchanges; close idle connections now, busy ones when they finish."""
        self.retired = True
        while self.idle:
            self.idle.pop().close()

    def close_idle_older_than(self, deadline: float) -> None:
        # The backend closes idle keep-alive connections itself (uvicorn: after 5 s); closing
        # ours first avoids sending a request on a connection the backend is closing.
        keep: list[UpstreamConnection] = []
        for conn in self.idle:
            if not conn.closed and conn.idle_since >= deadline:
                keep.append(conn)
            else:
                conn.close()
        self.idle = keep


class UpstreamConnection(asyncio.Protocol):
    """One TCP connection to an upstream; see the module docstring."""

    def __init__(self, upstream: Upstream, loop: asyncio.AbstractEventLoop) -> None:
        self.upstream = upstream
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.exchange: Exchange | None = None
        self.closed = False
        self.keep_alive = True
        self.reused = False  # served an exchange before (a failure may be a stale keep-alive)
        self.idle_since = 0.0
        self.tunnel_peer: asyncio.Transport | None = None
        self._status = 0
        self._interim = False
        self._complete = False
        self._head_only = False
        self._first = b""  # the answer's first bytes: its head, read again only at EOF
        self.paused = False
        self._upgraded = False

    # -- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        if self.tunnel_peer is not None:
            self.tunnel_peer.write(data)
            return
        ex = self.exchange
        if ex is None:  # bytes nobody asked for: the connection cannot be trusted any more
            self.close()
            return
        if not ex.response_started:
            ex.response_started = True
            self._first = data
        client = ex.client
        if not client.closed and client.transport is not None:
            client.transport.write(data)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade:
            self._upgraded = True
        except httptools.HttpParserError:
            self.exchange = None
            self.upstream.inflight -= 1
            self.keep_alive = False
            self.close()
            ex.client.upstream_failed(ex, self, "malformed answer")
            return
        if self._upgraded and self._status == 101:
            ex.client.upstream_upgraded(ex, self)
        elif self._complete or self._head_only:
            self._finish(ex)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.tunnel_peer is not None:
            self.upstream.tunnels -= 1
            self.tunnel_peer.close()
            self.tunnel_peer = None
            return
        ex = self.exchange
        if ex is None:
            return
        if ex.response_started and self._status and not self._complete and not self._framed():
            # An answer delimited by the end of the connection has just ended.
            self.keep_alive = False
            self._finish(ex)
            return
        self.exchange = None
        self.upstream.inflight -= 1
        ex.client.upstream_failed(ex, self, "connection lost")

    def pause_writing(self) -> None:
        ex = self.exchange
        if ex is not None and ex.client.transport is not None:
            ex.client.transport.pause_reading()

    def resume_writing(self) -> None:
        ex = self.exchange
        if ex is not None and ex.client.transport is not None:
            ex.client.transport.resume_reading()

    # -- httptools callbacks -----------------------------------------------------------
    def _framed(self) -> bool:
        """Whether the answer's end was announced (Content-Length, chunked, or no body at all).
        Asked only when the connection ends mid-answer, so the head is scanned then, not per
        header on the hot path."""
        head = self._first.split(b"\r\n\r\n", 1)[0].lower()
        return (
            self._status in (204, 304)
            or b"\r\ncontent-length:" in head
            or b"\r\ntransfer-encoding:" in head
        )

    def on_headers_complete(self) -> None:
        status = self.parser.get_status_code()
        self._status = status
        if 100 <= status < 200 and status != 101:
            self._interim = True  # 100 Continue & co: the real answer follows
        ex = self.exchange
        if ex is not None and ex.request.method == b"HEAD" and not self._interim:
            self._head_only = True
            self.keep_alive = self.parser.should_keep_alive()

    def on_message_complete(self) -> None:
        if self._interim:
            self._interim = False
            return
        self.keep_alive = self.parser.should_keep_alive()
        self._complete = True

    # -- used by the client side -------------------------------------------------------
    def send(self, ex: Exchange, wire: bytes) -> None:
        self.exchange = ex
        self._status = 0
        self._complete = self._head_only = self._upgraded = False
        self._first = b""
        ex.conn = self
        self.upstream.inflight += 1
        assert self.transport is not None
        self.transport.write(wire)

    def _finish(self, ex: Exchange) -> None:
        status = self._status
        if self._head_only:
            self.parser = httptools.HttpResponseParser(self)
        self._complete = self._head_only = False
        self.exchange = None
        self.reused = True
        keep_alive = self.keep_alive
        if self.paused:  # paused for a slow client; the next one may be fast
            self.set_reading(True)
        self.upstream.inflight -= 1
        self.upstream.release(self)
        ex.client.exchange_done(ex, status, keep_alive)

    def set_reading(self, on: bool) -> None:
        transport = self.transport
        if transport is None or transport.is_closing() or self.paused != on:
            return
        self.paused = not on
        transport.resume_reading() if on else transport.pause_reading()

    def become_tunnel(self, peer: asyncio.Transport) -> None:
        self.exchange = None
        self.upstream.inflight -= 1
        self.upstream.tunnels += 1
        self.tunnel_peer = peer

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()

    def abort(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.abort()
