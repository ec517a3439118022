"""Fixtures for the router's unit tests: a scriptable raw HTTP upstream and a router in-process.

The upstream is written on asyncio streams (not a framework) so tests can make it misbehave:
close-delimited answers, closing kept-alive connections, hanging.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import pytest

from canaryctl.platforms.local.router import Router


@dataclass
class RawUpstream:
    """Answers by path: /ok, /status/NNN, /slow/MS, /echo (body), /close (then closes),
    /eof (body delimited by closing), /hang; HEAD like GET without a body."""

    name: str
    port: int = 0
    connections: int = 0
    requests: list[tuple[str, str, dict[str, str], bytes]] = field(default_factory=list)
    server: asyncio.Server | None = None
    writers: set[asyncio.StreamWriter] = field(default_factory=set)

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.add(writer)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                method, path, _ = lines[0].split(" ", 2)
                headers = {
                    k.strip().lower(): v.strip()
                    for k, _, v in (ln.partition(":") for ln in lines[1:] if ln)
                }
                body = await reader.readexactly(int(headers.get("content-length", 0)))
                self.requests.append((method, path, headers, body))
                if not await self.answer(writer, method, path, body):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.writers.discard(writer)
            writer.close()

    async def answer(self, w: asyncio.StreamWriter, method: str, path: str, body: bytes) -> bool:
        status, extra, keep = 200, b"", True
        payload = f"{self.name} {path}".encode()
        if path.startswith("/status/"):
            status = int(path.split("/")[2])
        elif path.startswith("/slow/"):
            await asyncio.sleep(int(path.split("/")[2]) / 1000)
        elif path == "/echo":
            payload = body
        elif path == "/close":
            extra, keep = b"connection: close\r\n", False
        elif path == "/hang":
            await asyncio.sleep(3600)
        elif path == "/eof":
            w.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\n\r\n" + payload)
            await w.drain()
            return False
        length = b"content-length: %d\r\n" % len(payload)
        w.write(b"HTTP/1.1 %d X\r\n%s%s\r\n" % (status, length, extra))
        if method != "HEAD":
            w.write(payload)
        await w.drain()
        return keep

    def drop_idle(self) -> None:
        """Close every connection, as a backend does with idle keep-alive connections."""
        for w in list(self.writers):
            w.close()


@pytest.fixture
async def upstreams() -> AsyncIterator[Callable[[str], Awaitable[RawUpstream]]]:
    made: list[RawUpstream] = []

    async def make(name: str) -> RawUpstream:
        up = RawUpstream(name)
        up.server = await asyncio.start_server(up.handle, "127.0.0.1", 0)
        up.port = up.server.sockets[0].getsockname()[1]
        made.append(up)
        return up

    yield make
    for up in made:
        assert up.server is not None
        up.server.close()
        up.drop_idle()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(up.server.wait_closed(), 2)


@pytest.fixture
async def router() -> AsyncIterator[Router]:
    r = Router(upstream_timeout=2.0)
    await r.start("127.0.0.1", 0)
    yield r
    await r.close()


@pytest.fixture
def router_port(router: Router) -> int:
    assert router._server is not None
    return int(router._server.sockets[0].getsockname()[1])
