"""The load generator's HTTP client against a raw server: reuse, stale connections, failures."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from canaryctl.load.http import HttpClient, TransportError


class Server:
    def __init__(self) -> None:
        self.connections = 0
        self.writers: list[asyncio.StreamWriter] = []
        self.hang = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.writers.append(writer)
        with contextlib.suppress(asyncio.IncompleteReadError, ConnectionError):
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                body = await reader.readexactly(length)
                if self.hang:
                    await asyncio.sleep(3600)
                payload = b'{"echo": %d}' % len(body)
                writer.write(
                    b"HTTP/1.1 201 Created\r\ncontent-length: %d\r\n\r\n%s"
                    % (len(payload), payload)
                )
                await writer.drain()
        writer.close()


@pytest.fixture
async def server():
    srv = Server()
    tcp = await asyncio.start_server(srv.handle, "127.0.0.1", 0)
    srv.port = tcp.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
    yield srv
    tcp.close()
    for w in srv.writers:
        w.close()


async def test_requests_reuse_kept_alive_connections(server):
    client = HttpClient(f"http://127.0.0.1:{server.port}", max_connections=4)
    for _ in range(20):
        resp = await client.request("POST", "/v1/players", json={"name": "x"}, params={"a": 1})
        assert resp.status == 201 and resp.json() == {"echo": 12}
    assert server.connections == 1
    await asyncio.gather(*(client.request("GET", "/") for _ in range(20)))
    assert server.connections <= 4
    await client.aclose()


async def test_a_connection_closed_while_idle_is_replaced(server):
    client = HttpClient(f"http://127.0.0.1:{server.port}")
    assert (await client.request("GET", "/")).status == 201
    for w in server.writers:
        w.close()
    await asyncio.sleep(0.05)
    assert (await client.request("GET", "/")).status == 201
    await client.aclose()


async def test_timeouts_and_refusals_are_transport_errors(server, unused_tcp_port):
    server.hang = True
    client = HttpClient(f"http://127.0.0.1:{server.port}", timeout=0.3)
    with pytest.raises(TransportError, match=r"no answer within 0\.3s"):
        await client.request("GET", "/")
    await client.aclose()
    refused = HttpClient(f"http://127.0.0.1:{unused_tcp_port}", timeout=1)
    with pytest.raises(TransportError, match="cannot connect"):
        await refused.request("GET", "/")
