"""A small HTTP/1.1 client for the load generator: asyncio protocols, httptools, keep-alive.

The load generator must offer a few hundred requests per second from one core while leaving
the machine to the system under test. httpx costs milliseconds of CPU per request in this
setting (its pool scans every connection on each change), so the generator speaks HTTP itself:
one request per connection at a time, idle connections reused, at most ``max_connections``.
An ``https://`` base URL speaks TLS, verified against the system's trust store (or
``SSL_CERT_FILE``) unless the caller passes its own ``ssl`` context.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as _ssl
from typing import Any
from urllib.parse import urlencode, urlsplit

import httptools
import orjson

__all__ = ["HttpClient", "Response", "TransportError"]


class TransportError(Exception):
    """No answer: refused, reset, timed out or malformed."""


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    @property
    def status_code(self) -> int:
        return self.status

    def json(self) -> Any:
        return orjson.loads(self.body)


class _Conn(asyncio.Protocol):
    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpResponseParser(self)
        self.waiter: asyncio.Future[Response] | None = None
        self.closed = False
        self.got_bytes = False
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.got_bytes = True
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(TransportError(f"malformed answer: {exc}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(TransportError(f"connection lost: {exc or 'closed by the server'}"))

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        resp = Response(self.parser.get_status_code(), self._headers, b"".join(self._body))
        self._headers, self._body = {}, []
        if not self.parser.should_keep_alive():
            self.close()
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(resp)

    def _fail(self, exc: Exception) -> None:
        waiter, self.waiter = self.waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    def send(self, data: bytes) -> asyncio.Future[Response]:
        self.waiter = self.loop.create_future()
        self.got_bytes = False
        assert self.transport is not None
        self.transport.write(data)
        return self.waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class HttpClient:
    """``await client.request("POST", "/v1/players", json={...}, headers={...})``."""

    def __init__(
        self,
        base_url: str,
        max_connections: int = 64,
        timeout: float = 10.0,
        ssl: _ssl.SSLContext | None = None,
    ) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"the load generator speaks http:// or https://, not {base_url!r}")
        tls = url.scheme == "https"
        self.host, self.port = url.hostname, url.port or (443 if tls else 80)
        # One context for every connection: TLS verification on, the default trust store.
        self.ssl = (ssl or _ssl.create_default_context()) if tls else None
        self.prefix = url.path.rstrip("/")
        self.host_header = url.netloc.encode()
        self.timeout = timeout
        self._idle: list[_Conn] = []
        self._slots = asyncio.Semaphore(max_connections)
        self._all: set[_Conn] = set()

    def _encode(
        self, method: str, path: str, json: Any, headers: dict[str, str] | None, params: Any
    ) -> bytes:
        target = self.prefix + path + (f"?{urlencode(params)}" if params else "")
        lines = [f"{method} {target} HTTP/1.1", f"host: {self.host_header.decode()}"]
        body = b"" if json is None else orjson.dumps(json)
        if json is not None:
            lines.append("content-type: application/json")
        if body or method in ("POST", "PUT", "PATCH"):
            lines.append(f"content-length: {len(body)}")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body

    async def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        headers: dict[str, str] | None = None,
        params: Any = None,
    ) -> Response:
        data = self._encode(method, path, json, headers, params)
        async with self._slots:
            conn = self._take_idle()
            try:
                resp = await self._exchange(conn, data)
            except TransportError:
                if conn is None or conn.got_bytes:
                    raise
                # A kept-alive connection the server closed while idle: once more, fresh.
                conn = None
                resp = await self._exchange(None, data)
            return resp

    async def _exchange(self, conn: _Conn | None, data: bytes) -> Response:
        if conn is None:
            conn = await self._connect()
        try:
            resp = await asyncio.wait_for(conn.send(data), self.timeout)
        except TimeoutError:
            conn.close()
            raise TransportError(f"no answer within {self.timeout:g}s") from None
        if not conn.closed:
            self._idle.append(conn)
        return resp

    def _take_idle(self) -> _Conn | None:
        while self._idle:
            conn = self._idle.pop()
            if not conn.closed:
                return conn
        return None

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        try:
            _, conn = await asyncio.wait_for(
                loop.create_connection(
                    lambda: _Conn(loop), self.host, self.port, ssl=self.ssl,
                    server_hostname=self.host if self.ssl is not None else None,
                ),
                self.timeout,
            )  # fmt: skip
        except (OSError, TimeoutError) as exc:
            raise TransportError(f"cannot connect to {self.host}:{self.port}: {exc}") from None
        if len(self._all) > 1024:
            self._all = {c for c in self._all if not c.closed}
        self._all.add(conn)
        return conn

    async def aclose(self) -> None:
        for conn in self._all:
            conn.close()
        self._all.clear()
        self._idle.clear()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0)
