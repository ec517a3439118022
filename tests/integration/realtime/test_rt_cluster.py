"""Several gateway processes: delivery across them, one Redis subscription per process per
topic, a slow consumer closed with 1013, presences of a SIGKILLed process expiring."""

from __future__ import annotations

import asyncio
import socket
import time
import uuid
from typing import Any

import pytest
import redis.asyncio as aioredis
import websockets

from gamebackend.events import publish_to

pytestmark = pytest.mark.integration


async def test_events_reach_subscribers_on_every_process(
    gateways: Any, new_player: Any, ws: Any, http: Any
) -> None:
    a, b = gateways
    player = await new_player(coins=500)
    on_b = await ws(b, player)  # the socket is on B; the write goes through A
    await on_b.call("subscribe", {"topic": "wallet"})
    spend = {"currency": "coins", "amount": -5}
    headers = {**player.headers, "Idempotency-Key": str(uuid.uuid4())}
    assert (
        await http.post("/v1/wallet/transactions", json=spend, headers=headers)
    ).status_code == 201
    assert (await on_b.push("wallet.updated"))["payload"]["balances"] == {"coins": 495}

    watchers = [await ws(backend, await new_player()) for backend in (a, b, a, b)]
    for w in watchers:
        await w.call("subscribe", {"topic": "leaderboard:daily_best"})
    body = {"score": 777, "submission_id": uuid.uuid4().hex}
    assert (
        await http.post("/v1/leaderboards/daily_best/scores", json=body, headers=player.headers)
    ).status_code == 201
    for w in watchers:
        push = await w.expect(
            lambda m: (
                m["type"] == "leaderboard.updated"
                and any(c["player_id"] == player.player_id for c in m["payload"]["changes"])
            )
        )
        assert push["payload"]["leaderboard_id"] == "daily_best"


async def test_one_redis_subscription_per_process_per_topic(
    gateways: Any, new_player: Any, ws: Any, embedded: Any
) -> None:
    a, b = gateways
    channel = f"presence:fan-{uuid.uuid4().hex[:8]}"
    clients = [await ws(backend, await new_player()) for backend in (a, b) for _ in range(5)]
    for c in clients:
        await c.call("subscribe", {"topic": channel})
    redis = aioredis.Redis.from_url(embedded.redis_url)
    try:
        [(_, subscribers)] = await redis.pubsub_numsub(f"gb:ev:{channel}")
        assert subscribers == 2  # ten connections, two processes
        for c in clients:
            await c.call("unsubscribe", {"topic": channel})
        await asyncio.sleep(0.3)
        [(_, subscribers)] = await redis.pubsub_numsub(f"gb:ev:{channel}")
        assert subscribers == 0
    finally:
        await redis.aclose()


def _raw_client(port: int, token: str, topic: str) -> socket.socket:
    """A WebSocket client that subscribes and then never reads (tiny receive buffer)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    sock.sendall(
        f"GET /v1/ws?token={token} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    sock.settimeout(10)
    head = b""
    while b"\r\n\r\n" not in head:  # the upgrade answer first, then speak WebSocket
        head += sock.recv(1)
    assert head.startswith(b"HTTP/1.1 101"), head
    payload = f'{{"type":"subscribe","payload":{{"topic":"{topic}"}}}}'.encode()
    frame = bytes((0x81, 0x80 | len(payload))) + b"\0\0\0\0" + payload  # masked, zero key
    sock.sendall(frame)
    return sock


def _close_code_after_draining(sock: socket.socket, timeout: float) -> int | None:
    """Read everything; the code of the close frame at the end (None if none came)."""
    sock.settimeout(timeout)
    data = bytearray()
    try:
        while chunk := sock.recv(1 << 20):
            data += chunk
    except TimeoutError:
        pass
    finally:
        sock.close()
    pos = 0
    while pos + 2 <= len(data):
        opcode, size, pos = data[pos] & 0x0F, data[pos + 1] & 0x7F, pos + 2
        if size == 126:
            size, pos = int.from_bytes(data[pos : pos + 2], "big"), pos + 2
        elif size == 127:
            size, pos = int.from_bytes(data[pos : pos + 8], "big"), pos + 8
        if opcode == 0x8:
            return int.from_bytes(data[pos : pos + 2], "big")
        pos += size
    return None


async def test_slow_consumer_is_closed_with_1013(
    gateways: Any, new_player: Any, ws: Any, embedded: Any
) -> None:
    a, _ = gateways
    topic = f"presence:slow-{uuid.uuid4().hex[:8]}"
    before = a.metric("gamebackend_ws_slow_consumer_closes_total")
    fast = await ws(a, await new_player())
    await fast.call("subscribe", {"topic": topic})
    slow_player = await new_player()
    slow = await asyncio.to_thread(_raw_client, a.port, slow_player.token, topic)
    await fast.push("presence.joined", player_id=slow_player.player_id)  # it has subscribed
    redis = aioredis.Redis.from_url(embedded.redis_url)
    filler = {"channel": "x", "player_id": "y", "reason": "z" * 16_000}
    sent, deadline = 0, time.monotonic() + 60
    try:
        while a.metric("gamebackend_ws_slow_consumer_closes_total") == before:
            assert time.monotonic() < deadline, "the slow client was never closed"
            for _ in range(200):
                await publish_to(redis, topic, "presence.joined", filler)
            sent += 200
            received = 0
            while received < 200:  # the fast client keeps up and is never closed
                await fast.push("presence.joined", timeout=10)
                received += 1
    finally:
        await redis.aclose()
    code = await asyncio.to_thread(_close_code_after_draining, slow, 5.0)
    assert code == 1013
    assert (await fast.call("ping"))["type"] == "pong"


async def test_presences_of_a_killed_process_expire(
    gateways: Any, launch: Any, new_player: Any, ws: Any
) -> None:
    a, _ = gateways
    doomed = launch()
    channel = f"presence:kill-{uuid.uuid4().hex[:8]}"
    watcher, victims = await new_player(), [await new_player() for _ in range(3)]
    watch = await ws(a, watcher)
    await watch.call("subscribe", {"topic": channel})
    conns = [await ws(doomed, v) for v in victims]
    for c, v in zip(conns, victims, strict=True):
        await c.call("subscribe", {"topic": channel})
        await watch.push("presence.joined", player_id=v.player_id)
    doomed.kill()  # SIGKILL: no goodbye
    killed_at = time.monotonic()
    for v in victims:
        left = await watch.push("presence.left", timeout=20, player_id=v.player_id)
        assert left["payload"]["reason"] == "expired"
    assert time.monotonic() - killed_at < 3 + 1 + 3  # TTL 3 s, heartbeat every 1 s, slack
    fresh = await ws(a, await new_player())
    now = await fresh.call("subscribe", {"topic": channel})
    assert watcher.player_id in now["payload"]["members"]
    assert not {v.player_id for v in victims} & set(now["payload"]["members"])


async def test_websocket_metrics_are_exported(gateways: Any, new_player: Any, ws: Any) -> None:
    a, _ = gateways
    client = await ws(a, await new_player())
    await client.call("ping")
    assert a.metric("gamebackend_ws_connections") >= 1
    assert a.metric("gamebackend_ws_messages_total", direction="in", type="ping") >= 1
    assert a.metric("gamebackend_ws_messages_total", direction="out", type="pong") >= 1
    assert a.metric("gamebackend_ws_fanout_seconds_count") >= 0
    async with websockets.connect(a.ws_url) as conn:  # refused: counted
        await conn.wait_closed()
    assert a.metric("gamebackend_ws_rejected_total") >= 1
