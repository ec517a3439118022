"""Concurrency against a real uvicorn over HTTP: no overdraft, no double spend, no deadlock."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import pytest

from gamebackend.db.check import run_checks

pytestmark = pytest.mark.integration


async def assert_invariants_hold(make_settings) -> None:
    settings = make_settings()
    _, violations = await run_checks(settings.database_url, {})
    assert violations == []


async def ledger_rows(make_settings, player_id: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(make_settings().database_url)
    try:
        return await conn.fetch(
            "SELECT txn_id::text, amount FROM ledger WHERE player_id = $1::uuid ORDER BY entry_id",
            player_id,
        )
    finally:
        await conn.close()


async def test_200_concurrent_debits_on_100_coins(
    client, new_player, fresh_key, make_settings
) -> None:
    player = await new_player(coins=100)

    async def spend():
        return await client.post(
            "/v1/wallet/transactions",
            json={"currency": "coins", "amount": -1},
            headers={**player.headers, **fresh_key()},
        )

    answers = await asyncio.gather(*(spend() for _ in range(200)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses.count(201) == 100 and statuses.count(409) == 100
    wallet = await client.get("/v1/wallet", headers=player.headers)
    assert wallet.json()["balances"]["coins"] == 0
    rows = await ledger_rows(make_settings, player.player_id)
    assert len(rows) == 101 and sum(r["amount"] for r in rows) == 0
    await assert_invariants_hold(make_settings)


async def test_20_concurrent_replays_make_one_entry(client, new_player, make_settings) -> None:
    player = await new_player(coins=100)
    headers = {**player.headers, "Idempotency-Key": str(uuid.uuid4())}

    async def send():
        return await client.post(
            "/v1/wallet/transactions", json={"currency": "coins", "amount": -7}, headers=headers
        )

    answers = await asyncio.gather(*(send() for _ in range(20)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["txn_id"] for a in answers}) == 1
    assert sum("Idempotent-Replayed" not in a.headers for a in answers) == 1
    rows = await ledger_rows(make_settings, player.player_id)
    assert [r["amount"] for r in rows] == [100, -7]
    wallet = await client.get("/v1/wallet", headers=player.headers)
    assert wallet.json()["balances"]["coins"] == 93


async def test_crossing_transfers_do_not_deadlock(
    client, new_player, fresh_key, make_settings
) -> None:
    a, b = await new_player(coins=500), await new_player(coins=500)

    async def send(src, dst):
        return await client.post(
            "/v1/wallet/transfers",
            json={"to_player": dst.player_id, "currency": "coins", "amount": 3},
            headers={**src.headers, **fresh_key()},
        )

    answers = await asyncio.gather(*(send(a, b) if i % 2 else send(b, a) for i in range(60)))
    assert {r.status_code for r in answers} == {201}
    balances = [
        (await client.get("/v1/wallet", headers=p.headers)).json()["balances"]["coins"]
        for p in (a, b)
    ]
    assert balances == [500, 500]
    await assert_invariants_hold(make_settings)


async def test_hot_pool_takes_concurrent_contributions_exactly(
    client, new_player, fresh_key, make_settings
) -> None:
    players = [await new_player(coins=50) for _ in range(20)]
    before = (await client.get("/v1/pools/jackpot", headers=players[0].headers)).json()["balances"][
        "coins"
    ]

    async def contribute(player):
        return await client.post(
            "/v1/pools/jackpot/contributions",
            json={"currency": "coins", "amount": 1},
            headers={**player.headers, **fresh_key()},
        )

    answers = await asyncio.gather(*(contribute(p) for p in players for _ in range(5)))
    assert {r.status_code for r in answers} == {201}
    after = (await client.get("/v1/pools/jackpot", headers=players[0].headers)).json()["balances"][
        "coins"
    ]
    assert after == before + 100
    await assert_invariants_hold(make_settings)
