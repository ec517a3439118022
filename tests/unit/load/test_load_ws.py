"""WebSocket players follow the curve, never exceed their number, count what the server does
(answers, closes with codes, refusals) and are all closed at the end."""

from __future__ import annotations

import asyncio
import random

from canaryctl.load.profiles import PROFILES
from canaryctl.load.ws import WsPlayers, ws_url


def test_the_websocket_url_is_the_targets_v1_ws():
    assert ws_url("http://127.0.0.1:8080") == "ws://127.0.0.1:8080/v1/ws"
    assert ws_url("http://localhost:1/game/") == "ws://localhost:1/game/v1/ws"


def _players(gateway, mix, api, n: int, profile: str, ping: float = 5.0) -> WsPlayers:
    return WsPlayers(
        gateway.url, n, PROFILES[profile], mix, api.send, random.Random(2), ping_interval=ping,
        timeout=2,
    )  # fmt: skip


async def _sample(gateway, at: list[float]) -> list[int]:
    loop = asyncio.get_running_loop()
    t0, seen = loop.time(), []
    for t in at:
        await asyncio.sleep(max(0.0, t0 + t - loop.time()))
        seen.append(gateway.open)
    return seen


async def test_connections_rise_and_fall_with_the_curve(gateway, mix, api):
    # spike: 30% of the players, all of them in the middle fifth, then 30% again
    players = _players(gateway, mix, api, 10, "spike", ping=0.2)
    loop = asyncio.get_running_loop()
    controller = loop.create_task(players.run(loop.time(), 4.0, None))
    seen = await _sample(gateway, [1.0, 2.2, 3.6])
    await controller
    await players.close(timeout=3)
    await asyncio.sleep(0.1)
    assert seen == [3, 10, 3]
    assert gateway.peak == 10 and gateway.open == 0
    s = players.summary()
    assert s["peak"] == 10 and s["open_at_end"] == 0 and s["registered"] == 10
    assert s["closed_by_client"] == s["connected"] == gateway.accepted
    assert s["closed_by_server"] == {} and s["connect_errors"] == {}
    assert s["messages_out"]["subscribe"] == s["messages_in"]["subscribed"] == 3 * s["connected"]
    assert s["messages_in"]["pong"] >= 20 and s["ping_rtt_ms"]["n"] == s["messages_in"]["pong"]
    # players who left came back on the same accounts: 10 registered, more connections
    assert [c[0] for c in api.calls].count("ws_register") == 10


async def test_a_server_close_is_counted_with_its_code_and_the_player_reconnects(gateway, mix, api):
    gateway.close_first = 1013
    players = _players(gateway, mix, api, 3, "steady")
    loop = asyncio.get_running_loop()
    await players.run(loop.time(), 1.5, None)
    await players.close(timeout=3)
    s = players.summary()
    assert s["closed_by_server"] == {"1013": 1}
    assert s["connected"] == 4 and s["closed_by_client"] == 3 and s["peak"] == 3
    assert s["registered"] == 3  # the closed player came back on its account


async def test_subscribed_players_are_online_for_the_mix_until_they_leave(gateway, mix, api):
    players = _players(gateway, mix, api, 4, "steady")
    loop = asyncio.get_running_loop()
    controller = loop.create_task(players.run(loop.time(), 1.0, None))
    await asyncio.sleep(0.6)
    assert len(mix.online) == 4
    await controller
    await players.close(timeout=3)
    assert len(mix.online) == 0


async def test_refused_connections_are_connect_errors(unused_tcp_port, mix, api):
    players = WsPlayers(
        f"http://127.0.0.1:{unused_tcp_port}", 2, PROFILES["steady"], mix, api.send,
        random.Random(3), timeout=1,
    )  # fmt: skip
    loop = asyncio.get_running_loop()
    await players.run(loop.time(), 2.0, None)
    await players.close(timeout=2)
    s = players.summary()
    assert s["connected"] == 0 and s["open_at_end"] == 0
    refused = s["connect_errors"].get("ConnectionRefusedError", 0)
    # they keep trying, backing off: a few attempts in 2 s, not one per player every tick (40)
    assert 3 <= refused <= 12 and s["registered"] == 2, s


async def test_a_stop_ends_the_controller_before_the_duration(gateway, mix, api):
    players = _players(gateway, mix, api, 2, "steady")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    task = loop.create_task(players.run(loop.time(), 60.0, stop))
    await asyncio.sleep(0.3)
    stop.set()
    await asyncio.wait_for(task, 1.0)
    await players.close(timeout=3)
    assert players.summary()["open_at_end"] == 0 and gateway.open == 0
