"""Redis is a projection, never the truth: writes keep succeeding while it is away, and what
is served after it returns is correct (repair on reconnect: the projections are invalidated by
bumping the key epoch, then rebuilt from PostgreSQL on the next read)."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
import redis.asyncio as aioredis

from gamebackend.embedded import EmbeddedServers

pytestmark = pytest.mark.integration


@pytest.fixture
def own_redis(scratch) -> Iterator[EmbeddedServers]:
    servers = EmbeddedServers(scratch / "r", postgres=False).start()
    try:
        yield servers
    finally:
        if servers.redis_pid:
            os.kill(servers.redis_pid, signal.SIGCONT)  # in case a test left it stopped
        servers.stop()


@pytest.fixture
async def api_client(own_redis, extra_api) -> AsyncIterator[httpx.AsyncClient]:
    api = await extra_api(redis_url=own_redis.redis_url)
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as http:
        yield http


async def coins(http, player) -> int:
    response = await http.get("/v1/wallet", headers=player.headers)
    assert response.status_code == 200
    return int(response.json()["balances"]["coins"])


async def spend(http, player, amount, fresh_key) -> None:
    response = await http.post(
        "/v1/wallet/transactions",
        json={"currency": "coins", "amount": -amount},
        headers={**player.headers, **fresh_key()},
    )
    assert response.status_code == 201, response.text


async def ranking(http, headers) -> list[tuple[str, int]]:
    response = await http.get(
        "/v1/leaderboards/t_outage/records", params={"limit": 100}, headers=headers
    )
    assert response.status_code == 200
    return [(r["player_id"], r["score"]) for r in response.json()["records"]]


async def served_from_redis(redis_url: str, player_id: str) -> int | None:
    """The balance the current projection epoch holds for the player (None if not built)."""
    redis = aioredis.Redis.from_url(redis_url, decode_responses=True)
    try:
        epoch = await redis.get("gb:epoch") or "0"
        entry = await redis.hget(f"gb:{epoch}:w:{player_id}", "coins")
        full = await redis.hget(f"gb:{epoch}:w:{player_id}", "_full")
    finally:
        await redis.aclose()
    return int(entry.split(":")[1]) if entry and full else None


async def eventually(predicate, timeout: float = 15.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await predicate():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.2)


async def test_redis_killed_mid_run_then_restarted(
    api_client, own_redis, new_player, fresh_key
) -> None:
    http = api_client
    player = await new_player(coins=1000, http=http)
    rivals = [await new_player(http=http) for _ in range(2)]
    await spend(http, player, 100, fresh_key)

    async def served(balance: int) -> bool:
        # Read through the API (which rebuilds a missing entry), then look in Redis itself.
        api = await coins(http, player)
        return (
            api == balance
            and await served_from_redis(own_redis.redis_url, player.player_id) == balance
        )

    await eventually(lambda: served(900))
    for p, points in zip([player, *rivals], (10, 30, 20), strict=True):
        body = {"score": points, "submission_id": "a"}
        await http.post("/v1/leaderboards/t_outage/scores", json=body, headers=p.headers)

    os.kill(own_redis.redis_pid, signal.SIGKILL)
    await spend(http, player, 50, fresh_key)
    buy = await http.post("/v1/store/purchase", json={"item_id": "potion", "qty": 2},
                          headers={**player.headers, **fresh_key()})  # fmt: skip
    use = await http.post("/v1/inventory/consume", json={"item_id": "potion", "qty": 1},
                          headers={**player.headers, **fresh_key()})  # fmt: skip
    body = {"score": 40, "submission_id": "b"}
    score = await http.post("/v1/leaderboards/t_outage/scores", json=body, headers=player.headers)
    assert (buy.status_code, use.status_code, score.status_code) == (201, 201, 201)
    assert await coins(http, player) == 830  # from PostgreSQL
    expected = [(player.player_id, 40), (rivals[0].player_id, 30), (rivals[1].player_id, 20)]
    assert await ranking(http, player.headers) == expected
    assert (await http.get("/readyz")).status_code == 503

    own_redis.stop()
    own_redis.start()  # empty, same socket path

    async def recovered() -> bool:
        ready = (await http.get("/readyz")).status_code == 200
        return (
            ready
            and await coins(http, player) == 830
            and (await served_from_redis(own_redis.redis_url, player.player_id) == 830)
        )

    await eventually(recovered)
    assert await ranking(http, player.headers) == expected
    await spend(http, player, 30, fresh_key)
    assert await coins(http, player) == 800
    assert await served_from_redis(own_redis.redis_url, player.player_id) == 800
    inventory = await http.get("/v1/inventory", headers=player.headers)
    assert inventory.json()["items"] == {"potion": 1}


class Partition:
    """A TCP relay to Redis that the test can cut: in-flight bytes are dropped and new
    connections refused, while Redis itself keeps running with its (soon stale) data."""

    def __init__(self, unix_path: str) -> None:
        self.unix_path = unix_path
        self.cut = False
        self.links: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"redis://127.0.0.1:{port}/0"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.close()
            return
        up_reader, up_writer = await asyncio.open_unix_connection(self.unix_path)
        self.links |= {writer, up_writer}

        async def pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    if self.cut:
                        break
                    dst.write(data)
            except (ConnectionError, OSError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pump(reader, up_writer), pump(up_reader, writer))

    def sever(self) -> None:
        self.cut = True
        for writer in self.links:
            writer.transport.abort()
        self.links.clear()

    async def close(self) -> None:
        self.sever()
        if self.server is not None:
            self.server.close()
            await self.server.wait_closed()


@pytest.fixture
async def partitioned(own_redis, extra_api) -> AsyncIterator[tuple[httpx.AsyncClient, Partition]]:
    socket_path = own_redis.redis_url.removeprefix("unix://").split("?")[0]
    relay = Partition(socket_path)
    api = await extra_api(redis_url=await relay.start())
    try:
        async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as http:
            yield http, relay
    finally:
        await relay.close()


async def test_redis_back_with_stale_data_is_not_served(
    partitioned, own_redis, new_player, fresh_key
) -> None:
    http, relay = partitioned
    player = await new_player(coins=500, http=http)

    async def served(balance: int) -> bool:
        api = await coins(http, player)
        return (
            api == balance
            and await served_from_redis(own_redis.redis_url, player.player_id) == balance
        )

    await eventually(lambda: served(500))
    redis = aioredis.Redis.from_url(own_redis.redis_url, decode_responses=True)
    try:
        old_epoch = await redis.get("gb:epoch") or "0"

        relay.sever()  # Redis keeps running, holding balance 500 for this player
        await spend(http, player, 40, fresh_key)
        assert await coins(http, player) == 460  # never the stale 500
        stale = await redis.hget(f"gb:{old_epoch}:w:{player.player_id}", "coins")
        assert stale is not None and stale.endswith(":500")
        relay.cut = False

        async def recovered() -> bool:
            served = await coins(http, player)  # a read rebuilds the entry once Redis is back
            return (
                served == 460
                and await served_from_redis(own_redis.redis_url, player.player_id) == 460
            )

        await eventually(recovered)
        assert await coins(http, player) == 460
        assert await redis.get("gb:epoch") != old_epoch
        # The stale entry is still there under the old epoch, and nobody serves it.
        assert (await redis.hget(f"gb:{old_epoch}:w:{player.player_id}", "coins")).endswith(":500")
    finally:
        await redis.aclose()
