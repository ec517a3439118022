"""The client side of the router: one ``ClientConnection`` per accepted TCP connection.

A request is read completely (bodies are small JSON here), its target group is chosen by weight
when it is complete, and it is written to a pooled upstream connection with hop-by-hop headers
removed. The answer streams back untouched. The target group is fixed per request, so a weight
change mid-flight never moves a request that already started. ``Upgrade`` requests get their own
upstream connection and, after a ``101``, both connections become a plain byte tunnel.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import TYPE_CHECKING

import httptools

from canaryctl.metrics.routes import route_class
from canaryctl.platforms.local.upstream import Upstream, UpstreamConnection

if TYPE_CHECKING:
    from canaryctl.platforms.local.router import Router, TargetGroup

__all__ = ["ClientConnection", "Exchange", "Request", "fast_route_class"]

_HOP = frozenset(
    (b"connection", b"keep-alive", b"proxy-connection", b"te", b"trailer", b"transfer-encoding",
     b"upgrade", b"expect", b"content-length")
)  # fmt: skip
_UPGRADE_KEEP = frozenset((b"connection", b"upgrade"))
_HOP_FIRST = frozenset(h[0] for h in _HOP)
_WITH_BODY = frozenset((b"POST", b"PUT", b"PATCH"))
_REASONS = {400: b"Bad Request", 413: b"Payload Too Large", 502: b"Bad Gateway"}
_REASONS |= {503: b"Service Unavailable", 504: b"Gateway Timeout"}
MAX_BODY = 16 * 1024 * 1024
MAX_QUEUED = 16  # pipelined requests held before the router stops reading from a client


_SEGMENTS = {
    seg: route_class("/v1/" + seg)
    for seg in (
        "wallet",
        "pools",
        "inventory",
        "store",
        "leaderboards",
        "players",
        "matchmaking",
        "ws",
    )
}


def fast_route_class(url: bytes) -> str:
    """``route_class`` of a raw request target, by one dict lookup on the segment after /v1/.

    The router classifies every request; this is the same answer as
    ``canaryctl.metrics.routes.route_class`` (a unit test holds them equal) at a tenth of the cost.
    """
    if not url.startswith(b"/v1/"):
        return "ops"  # every classified prefix starts with /v1/ (the unit test holds this)
    rest = url[4:]
    end = len(rest)
    for sep in (b"/", b"?"):
        i = rest.find(sep)
        if 0 <= i < end:
            end = i
    return _SEGMENTS.get(rest[:end].decode("latin-1"), "ops")


class Request:
    """A request as read from the client. ``head`` holds its end-to-end header lines, already
    serialised; hop-by-hop ones were dropped while parsing (``hop`` keeps Connection/Upgrade
    for an upgrade)."""

    __slots__ = (
        "body", "expect", "head", "hop", "keep_alive", "method", "received", "route_class",
        "upgrade", "url",
    )  # fmt: skip

    def __init__(self) -> None:
        self.method = b""
        self.url = b""
        self.head: list[bytes] = []
        self.hop: list[bytes] = []
        self.body = b""
        self.expect = False
        self.keep_alive = True
        self.upgrade = False
        self.route_class = "ops"
        self.received = 0.0

    def wire(self, peer: bytes) -> bytes:
        """The request as sent upstream: HTTP/1.1, hop-by-hop headers removed, framed by length."""
        parts = [self.method, b" ", self.url, b" HTTP/1.1\r\n", *self.head]
        if self.upgrade:
            parts += self.hop
        parts += (b"x-forwarded-for: ", peer, b"\r\n")
        if self.body or self.method in _WITH_BODY:
            parts.append(b"content-length: %d\r\n" % len(self.body))
        parts += (b"\r\n", self.body)
        return b"".join(parts)


class Exchange:
    """One request in flight: where it went and when it started (for the metrics)."""

    __slots__ = (
        "client", "conn", "group", "request", "response_started", "retried", "tried", "upstream",
        "wire",
    )  # fmt: skip

    def __init__(self, client: ClientConnection, request: Request, group: TargetGroup) -> None:
        self.client = client
        self.request = request
        self.group = group
        self.upstream: Upstream | None = None
        self.conn: UpstreamConnection | None = None
        self.wire = b""
        self.tried = 0
        self.retried = False
        self.response_started = False


class ClientConnection(asyncio.Protocol):
    """One downstream connection; see the module docstring."""

    def __init__(self, router: Router) -> None:
        self.router = router
        self.loop = router.loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.queue: deque[Request] = deque()
        self.exchange: Exchange | None = None
        self.closed = False
        self.tunnel: asyncio.Transport | None = None
        self.upgrading = False
        self.early = bytearray()  # bytes sent after an Upgrade head, before the 101
        self.last_active = self.loop.time()
        self.peer = b"127.0.0.1"
        self._req = Request()
        self._body: list[bytes] = []
        self._body_len = 0
        self._reading = True

    # -- asyncio.Protocol --------------------------------------------------------------
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        peer = transport.get_extra_info("peername")
        if peer:
            self.peer = str(peer[0]).encode()
        self.router.clients.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.router.clients.discard(self)
        if self.tunnel is not None:
            self.tunnel.close()
            self.tunnel = None
        ex, self.exchange = self.exchange, None
        if ex is not None and ex.conn is not None and ex.conn.exchange is ex:
            ex.conn.abort()  # its answer would arrive for nobody; the connection is spoiled

    def data_received(self, data: bytes) -> None:
        if self.tunnel is not None:
            self.tunnel.write(data)
            return
        if self.upgrading:
            self.early += data
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            self.upgrading = True
            self.early += data[exc.args[0] :]
        except httptools.HttpParserError:
            if self._body_len > MAX_BODY:
                self._reject(413, b"request body too large")
            else:
                self._reject(400, b"malformed request")

    def pause_writing(self) -> None:
        self._upstream_reading(False)

    def resume_writing(self) -> None:
        self._upstream_reading(True)

    def _upstream_reading(self, on: bool) -> None:
        ex = self.exchange
        if self.tunnel is not None:
            if not self.tunnel.is_closing():
                self.tunnel.resume_reading() if on else self.tunnel.pause_reading()
        elif ex is not None and ex.conn is not None:
            ex.conn.set_reading(on)

    # -- httptools callbacks -----------------------------------------------------------
    # (No on_message_begin: the next request's state is made ready when one completes, which
    # saves a Python call per request on the router's hot path.)
    def on_url(self, url: bytes) -> None:
        self._req.url += url

    def on_header(self, name: bytes, value: bytes) -> None:
        # Every request passes here once per header: look at the first byte before lowering.
        if name and (name[0] | 0x20) in _HOP_FIRST:
            lname = name.lower()
            if lname in _HOP:
                if lname in _UPGRADE_KEEP:
                    self._req.hop += (name, b": ", value, b"\r\n")
                elif lname == b"expect":
                    self._req.expect = value.lower() == b"100-continue"
                return
        self._req.head += (name, b": ", value, b"\r\n")

    def on_headers_complete(self) -> None:
        req = self._req
        req.method = self.parser.get_method()
        req.upgrade = self.parser.should_upgrade()
        req.keep_alive = self.parser.should_keep_alive()
        if req.expect:
            # The router reads the whole body before choosing an upstream, so it answers the
            # client's ``Expect: 100-continue`` itself instead of making it wait.
            self.write(b"HTTP/1.1 100 Continue\r\n\r\n")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)
        self._body_len += len(body)
        if self._body_len > MAX_BODY:
            raise httptools.HttpParserError("body too large")

    def on_message_complete(self) -> None:
        req = self._req
        if self._body:
            req.body = b"".join(self._body)
            self._body = []
            self._body_len = 0
        req.received = self.loop.time()
        req.route_class = fast_route_class(req.url)
        self._req = Request()
        if self.exchange is None and not self.queue:
            self._dispatch(req)
            return
        self.queue.append(req)
        if self.exchange is None:
            self._dispatch(self.queue.popleft())
        elif len(self.queue) >= MAX_QUEUED and self.transport is not None:
            self._reading = False
            self.transport.pause_reading()

    # -- exchanges ---------------------------------------------------------------------
    def _dispatch(self, req: Request) -> None:
        group = self.router.pick_group()
        ex = Exchange(self, req, group)
        ex.wire = req.wire(self.peer)
        self.exchange = ex
        self._send(ex)

    def _send(self, ex: Exchange) -> None:
        up = ex.group.next_upstream()
        if up is None:
            self._local_answer(ex, 503, f"no backend in target group {ex.group.name}")
            return
        ex.upstream = up
        ex.tried += 1
        conn = None if ex.request.upgrade else up.take_idle()
        if conn is not None:
            conn.send(ex, ex.wire)
        else:
            self.loop.create_task(self._connect(ex, up))

    async def _connect(self, ex: Exchange, up: Upstream) -> None:
        loop = self.loop
        try:
            _, conn = await loop.create_connection(
                lambda: UpstreamConnection(up, loop), up.host, up.port
            )
        except OSError as exc:
            if ex is not self.exchange:
                return
            if ex.tried < len(ex.group.upstreams):  # another process of the group may answer
                self._send(ex)
            else:
                self._local_answer(ex, 502, f"upstream {up.addr} unreachable: {exc.strerror}")
            return
        if ex is not self.exchange or self.closed:
            conn.close()
            return
        conn.send(ex, ex.wire)

    def write(self, data: bytes) -> None:
        if not self.closed and self.transport is not None:
            self.transport.write(data)

    def exchange_done(self, ex: Exchange, status: int, keep_alive: bool = True) -> None:
        if ex is not self.exchange:
            return
        self.exchange = None
        now = self.loop.time()
        self.last_active = now
        self.router.stats.record(
            ex.group.name, ex.request.route_class, now - ex.request.received, status >= 500
        )
        if not (ex.request.keep_alive and keep_alive) or self.upgrading:
            self.close()
            return
        if self.queue:
            self._dispatch(self.queue.popleft())
        elif not self._reading and self.transport is not None:
            self._reading = True
            self.transport.resume_reading()

    def upstream_failed(self, ex: Exchange, conn: UpstreamConnection, why: str) -> None:
        if ex is not self.exchange or self.closed:
            return
        if not ex.response_started and conn.reused and not ex.retried and ex.upstream:
            # A pooled connection the backend closed while idle: send once more on a new one.
            ex.retried = True
            self.loop.create_task(self._connect(ex, ex.upstream))
        elif not ex.response_started:
            self._local_answer(ex, 502, f"upstream {conn.upstream.addr}: {why}")
        else:  # part of the answer is already out: only closing tells the client the truth
            self.exchange_done(ex, 502, keep_alive=False)

    def upstream_upgraded(self, ex: Exchange, conn: UpstreamConnection) -> None:
        self.exchange = None
        latency = self.loop.time() - ex.request.received
        self.router.stats.record(ex.group.name, ex.request.route_class, latency, False)
        if self.closed or self.transport is None:
            conn.close()
            return
        conn.become_tunnel(self.transport)
        self.tunnel = conn.transport
        self.upgrading = False
        if self.early and self.tunnel is not None:
            self.tunnel.write(bytes(self.early))
        self.early = bytearray()

    def timed_out(self, ex: Exchange) -> None:
        conn = ex.conn
        if conn is not None and conn.exchange is ex:
            conn.exchange = None
            conn.upstream.inflight -= 1
            conn.abort()
        if ex.response_started:
            self.exchange_done(ex, 504, keep_alive=False)
        else:
            self._local_answer(ex, 504, "upstream timed out")

    def _local_answer(self, ex: Exchange, status: int, message: str) -> None:
        body = message.encode()
        head = b"HTTP/1.1 %d %s\r\ncontent-type: text/plain\r\ncontent-length: %d\r\n\r\n"
        self.write(head % (status, _REASONS.get(status, b"Error"), len(body)) + body)
        self.exchange_done(ex, status)

    def _reject(self, status: int, message: bytes) -> None:
        head = b"HTTP/1.1 %d %s\r\nconnection: close\r\ncontent-length: %d\r\n\r\n"
        self.write(head % (status, _REASONS[status], len(message)) + message)
        self.close()

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()
