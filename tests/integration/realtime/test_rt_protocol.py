"""The gateway's protocol against a real ``gamebackend serve``: auth, every message type, every
error answer, and the pushes each domain produces."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import orjson
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.integration


async def _close_code(url: str, **kw: Any) -> int | None:
    async with websockets.connect(url, **kw) as conn:
        with pytest.raises(ConnectionClosed):
            await asyncio.wait_for(conn.recv(), timeout=10)
        return conn.close_code


async def test_missing_or_invalid_token_closes_with_4401(gateways: Any, new_player: Any) -> None:
    a, _ = gateways
    assert await _close_code(a.ws_url) == 4401
    assert await _close_code(a.ws_url + "?token=gb1.nope.nope") == 4401
    forged = (await new_player()).token[:-4] + "AAAA"
    bearer = {"Authorization": f"Bearer {forged}"}
    assert await _close_code(a.ws_url, additional_headers=bearer) == 4401
    assert a.metric("gamebackend_ws_rejected_total", reason="invalid_token") >= 3


async def test_token_in_query_parameter_or_header(gateways: Any, new_player: Any, ws: Any) -> None:
    a, _ = gateways
    player = await new_player()
    async with websockets.connect(f"{a.ws_url}?token={player.token}") as conn:
        await conn.send('{"type": "ping", "cid": "q"}')
        answer = orjson.loads(await asyncio.wait_for(conn.recv(), 10))
        assert answer["type"] == "pong" and answer["cid"] == "q"
    client = await ws(a, player)
    pong = await client.call("ping")
    assert pong["type"] == "pong" and pong["payload"]["ts"] > 0
    assert player.token not in a.log.read_text()  # tokens are never logged


async def test_ping_without_cid_gets_pong_without_cid(
    gateways: Any, new_player: Any, ws: Any
) -> None:
    client = await ws(gateways[0], await new_player())
    await client.conn.send('{"type": "ping"}')
    pong = await client.expect(lambda m: m["type"] == "pong")
    assert "cid" not in pong


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        ("not json", "invalid_json"),
        ("[1, 2]", "invalid_envelope"),
        ('{"cid": "x"}', "invalid_envelope"),
        ('{"type": "dance", "cid": "x"}', "unknown_type"),
        ('{"type": "ping", "cid": "x", "extra": 1}', "invalid_envelope"),
        ('{"type": "subscribe", "cid": "x", "payload": [1]}', "invalid_payload"),
        ('{"type": "subscribe", "cid": "x", "payload": {}}', "invalid_payload"),
        ('{"type": "subscribe", "cid": "x", "payload": {"topic": "gold"}}', "unknown_topic"),
        (
            '{"type": "subscribe", "cid": "x", "payload": {"topic": "leaderboard:nope"}}',
            "unknown_topic",
        ),
        (
            '{"type": "subscribe", "cid": "x", "payload": {"topic": "presence:a b"}}',
            "unknown_topic",
        ),
        ('{"type": "unsubscribe", "cid": "x", "payload": {"topic": "wallet"}}', "not_subscribed"),
    ],
)
async def test_bad_messages_get_an_error_and_the_connection_stays_open(
    gateways: Any, new_player: Any, ws: Any, raw: str, reason: str
) -> None:
    client = await ws(gateways[0], await new_player())
    await client.conn.send(raw)
    error = await client.expect(lambda m: m["type"] == "error")
    assert error["payload"]["reason"] == reason, error
    assert error["payload"]["message"]
    if '"cid": "x"' in raw and reason not in ("invalid_json",):
        assert error.get("cid") == "x"
    assert (await client.call("ping"))["type"] == "pong"


async def test_binary_and_oversized_messages_are_refused(
    gateways: Any, new_player: Any, ws: Any
) -> None:
    client = await ws(gateways[0], await new_player())
    await client.conn.send(b"\x00\x01")
    error = await client.expect(lambda m: m["type"] == "error")
    assert error["payload"]["reason"] == "binary_not_supported"
    await client.conn.send('{"type": "ping", "payload": {"pad": "' + "x" * 5000 + '"}}')
    error = await client.expect(lambda m: m["type"] == "error")
    assert error["payload"]["reason"] == "message_too_large"
    assert (await client.call("ping"))["type"] == "pong"


async def test_subscribe_and_unsubscribe_every_topic(
    gateways: Any, new_player: Any, ws: Any
) -> None:
    client = await ws(gateways[0], await new_player())
    channel = f"room-{uuid.uuid4().hex[:8]}"
    for topic in ("wallet", "matchmaking", "leaderboard:high_scores", f"presence:{channel}"):
        answer = await client.call("subscribe", {"topic": topic})
        assert answer["type"] == "subscribed" and answer["payload"]["topic"] == topic
        again = await client.call("subscribe", {"topic": topic})
        assert again["type"] == "subscribed" and again["payload"]["already"] is True
        gone = await client.call("unsubscribe", {"topic": topic})
        assert gone["type"] == "unsubscribed" and gone["payload"]["topic"] == topic
        error = await client.call("unsubscribe", {"topic": topic})
        assert error["payload"]["reason"] == "not_subscribed"


async def test_subscriptions_are_bounded(gateways: Any, new_player: Any, ws: Any) -> None:
    client = await ws(gateways[0], await new_player())
    for i in range(32):
        assert (await client.call("subscribe", {"topic": f"presence:cap-{i}"}))[
            "type"
        ] == "subscribed"
    error = await client.call("subscribe", {"topic": "presence:cap-32"})
    assert error["payload"]["reason"] == "too_many_subscriptions"


async def test_wallet_updated_after_each_committed_change(
    gateways: Any, new_player: Any, ws: Any, http: Any
) -> None:
    player, other = await new_player(coins=1000), await new_player(coins=10)
    client = await ws(gateways[0], player)
    bystander = await ws(gateways[0], other)
    await client.call("subscribe", {"topic": "wallet"})
    await bystander.call("subscribe", {"topic": "wallet"})
    key = {"Idempotency-Key": str(uuid.uuid4())}
    spend = {"currency": "coins", "amount": -100, "reason": "test"}
    made = await http.post("/v1/wallet/transactions", json=spend, headers={**player.headers, **key})
    assert made.status_code == 201
    push = await client.push("wallet.updated")
    assert push["payload"]["balances"] == {"coins": 900}
    assert push["topic"] == f"wallet:{player.player_id}"
    bought = await http.post(
        "/v1/store/purchase", json={"item_id": "sword", "qty": 1},
        headers={**player.headers, "Idempotency-Key": str(uuid.uuid4())},
    )  # fmt: skip
    assert bought.status_code == 201, bought.text
    second = await client.push("wallet.updated")
    assert second["payload"]["balances"] == {"coins": 650}
    assert second["payload"]["versions"]["coins"] > push["payload"]["versions"]["coins"]
    # A replay writes nothing and pushes nothing; the other player hears nothing of it.
    await http.post("/v1/wallet/transactions", json=spend, headers={**player.headers, **key})
    with pytest.raises(TimeoutError):
        await client.push("wallet.updated", timeout=1.0)
    with pytest.raises(TimeoutError):
        await bystander.push("wallet.updated", timeout=0.5)


async def test_leaderboard_updated_carries_top_and_rank_changes(
    gateways: Any, new_player: Any, ws: Any, http: Any
) -> None:
    player = await new_player()
    client = await ws(gateways[0], player)
    first = await client.call("subscribe", {"topic": "leaderboard:last_run"})
    assert first["payload"]["period"] == "all" and isinstance(first["payload"]["top"], list)
    body = {"score": 10**11, "submission_id": uuid.uuid4().hex}
    posted = await http.post("/v1/leaderboards/last_run/scores", json=body, headers=player.headers)
    assert posted.status_code == 201, posted.text

    def mine(m: dict[str, Any]) -> bool:
        return m["type"] == "leaderboard.updated" and any(
            c["player_id"] == player.player_id for c in m["payload"]["changes"]
        )

    push = await client.expect(mine)
    change = next(c for c in push["payload"]["changes"] if c["player_id"] == player.player_id)
    assert change == {"rank": 1, "player_id": player.player_id, "score": 10**11}
    assert push["payload"]["top"][0]["player_id"] == player.player_id
    assert push["payload"]["leaderboard_id"] == "last_run"
    assert len(push["payload"]["top"]) <= 10


async def test_presence_joined_and_left(gateways: Any, new_player: Any, ws: Any) -> None:
    a, b = gateways
    channel = f"presence:room-{uuid.uuid4().hex[:8]}"
    watcher, visitor = await new_player(), await new_player()
    watch = await ws(a, watcher)
    joined = await watch.call("subscribe", {"topic": channel})
    assert joined["payload"]["count"] == 1 and joined["payload"]["members"] == [watcher.player_id]
    visit = await ws(b, visitor)  # another process
    seen = await visit.call("subscribe", {"topic": channel})
    assert seen["payload"]["count"] == 2
    assert sorted(seen["payload"]["members"]) == sorted([watcher.player_id, visitor.player_id])
    push = await watch.push("presence.joined", player_id=visitor.player_id)
    assert push["payload"]["channel"] == channel.partition(":")[2]
    await visit.call("unsubscribe", {"topic": channel})
    left = await watch.push("presence.left", player_id=visitor.player_id)
    assert left["payload"]["reason"] == "left"
    await visit.call("subscribe", {"topic": channel})
    await watch.push("presence.joined", player_id=visitor.player_id)
    await visit.conn.close()  # disconnecting leaves too
    await watch.push("presence.left", player_id=visitor.player_id)


async def test_presence_counts_a_player_once_across_connections(
    gateways: Any, new_player: Any, ws: Any
) -> None:
    a, b = gateways
    channel = f"presence:twice-{uuid.uuid4().hex[:8]}"
    watcher, player = await new_player(), await new_player()
    watch = await ws(a, watcher)
    await watch.call("subscribe", {"topic": channel})
    first, second = await ws(a, player), await ws(b, player)
    await first.call("subscribe", {"topic": channel})
    await watch.push("presence.joined", player_id=player.player_id)
    assert (await second.call("subscribe", {"topic": channel}))["payload"]["count"] == 2
    await first.conn.close()
    with pytest.raises(TimeoutError):  # still present through the second connection
        await watch.push("presence.left", player_id=player.player_id, timeout=1.0)
    await second.conn.close()
    await watch.push("presence.left", player_id=player.player_id)


async def test_match_found_is_pushed_to_every_player(
    gateways: Any, new_player: Any, ws: Any, http: Any, band: int
) -> None:
    players = [await new_player() for _ in range(2)]
    sockets = [await ws(gateways[i], p) for i, p in enumerate(players)]
    for s in sockets:
        await s.call("subscribe", {"topic": "matchmaking"})
    tickets = []
    for i, p in enumerate(players):
        body = {"mode": "duel", "regions": {"eu": 30}, "mmr": band + i * 10}
        made = await http.post("/v1/matchmaking/tickets", json=body, headers=p.headers)
        assert made.status_code == 201, made.text
        tickets.append(made.json()["ticket_id"])
    pushes = [await s.push("match.found") for s in sockets]
    assert pushes[0]["payload"]["match_id"] == pushes[1]["payload"]["match_id"]
    match = pushes[0]["payload"]
    assert {e["player_id"] for e in match["players"]} == {p.player_id for p in players}
    assert {e["ticket_id"] for e in match["players"]} == set(tickets)
    assert match["region"] == "eu" and match["skill_spread"] == 10 and match["mode"] == "duel"
