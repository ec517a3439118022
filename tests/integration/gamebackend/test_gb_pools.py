"""Jackpot pools: contributions (sharded), exact balance reads, admin payouts."""

from __future__ import annotations

import asyncio

import pytest

from gamebackend.db.check import run_checks

pytestmark = pytest.mark.integration


async def pool_balance(client, headers, pool: str = "jackpot", currency: str = "coins") -> int:
    response = await client.get(f"/v1/pools/{pool}", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["balances"][currency])


async def test_contributions_debit_players_and_credit_the_pool_exactly(
    client, new_player, fresh_key
) -> None:
    players = [await new_player(coins=100) for _ in range(5)]
    before = await pool_balance(client, players[0].headers)

    async def contribute(player, amount):
        return await client.post(
            "/v1/pools/jackpot/contributions",
            json={"currency": "coins", "amount": amount},
            headers={**player.headers, **fresh_key()},
        )

    answers = await asyncio.gather(*(contribute(p, 10 + i) for i, p in enumerate(players)))
    assert [a.status_code for a in answers] == [201] * 5
    assert answers[0].json()["balance"] == 90
    # The read is exact (sum of the shards in one snapshot), not a projection.
    assert await pool_balance(client, players[0].headers) == before + sum(10 + i for i in range(5))


async def test_contribution_refusals(client, new_player, fresh_key) -> None:
    player = await new_player(coins=5)
    cases = [
        ("/v1/pools/jackpot/contributions", {"currency": "coins", "amount": 6}, 409),
        ("/v1/pools/jackpot/contributions", {"currency": "gems", "amount": 1}, 422),
        ("/v1/pools/jackpot/contributions", {"currency": "coins", "amount": 0}, 422),
        ("/v1/pools/nope/contributions", {"currency": "coins", "amount": 1}, 404),
    ]
    for path, body, status in cases:
        response = await client.post(path, json=body, headers={**player.headers, **fresh_key()})
        assert response.status_code == status, (body, response.text)
    assert (await client.get("/v1/wallet", headers=player.headers)).json()["balances"]["coins"] == 5


async def test_replayed_contribution_counts_once(client, new_player, admin, fresh_key) -> None:
    player = await new_player(coins=50)
    headers = {**player.headers, **fresh_key()}
    body = {"currency": "gems", "amount": 1}
    gems = {"currency": "gems", "amount": 3, "player_id": player.player_id}
    await client.post("/v1/wallet/transactions", json=gems, headers={**admin, **fresh_key()})
    before = await pool_balance(client, player.headers, "gem_jackpot", "gems")
    first = await client.post("/v1/pools/gem_jackpot/contributions", json=body, headers=headers)
    second = await client.post("/v1/pools/gem_jackpot/contributions", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["Idempotent-Replayed"] == "true"
    assert await pool_balance(client, player.headers, "gem_jackpot", "gems") == before + 1


async def test_payout_by_admin_never_below_zero(client, new_player, admin, fresh_key) -> None:
    donor, winner = await new_player(coins=1000), await new_player()
    await client.post(
        "/v1/pools/jackpot/contributions",
        json={"currency": "coins", "amount": 700},
        headers={**donor.headers, **fresh_key()},
    )
    pot = await pool_balance(client, donor.headers)
    paid = await client.post(
        "/v1/pools/jackpot/payouts",
        json={"currency": "coins", "amount": 300, "player_id": winner.player_id, "reason": "win"},
        headers={**admin, **fresh_key()},
    )
    assert paid.status_code == 201
    assert paid.json()["balance"] == 300
    assert await pool_balance(client, donor.headers) == pot - 300
    too_much = await client.post(
        "/v1/pools/jackpot/payouts",
        json={"currency": "coins", "amount": pot, "player_id": winner.player_id},
        headers={**admin, **fresh_key()},
    )
    assert too_much.status_code == 409
    assert too_much.json()["error"] == "insufficient_pool_funds"
    assert await pool_balance(client, donor.headers) == pot - 300
    wallet = await client.get("/v1/wallet", headers=winner.headers)
    assert wallet.json()["balances"]["coins"] == 300


async def test_unknown_pool_is_404(client, new_player) -> None:
    player = await new_player()
    assert (await client.get("/v1/pools/nope", headers=player.headers)).status_code == 404


async def test_naive_single_row_pool_is_a_correct_control(
    client, new_player, fresh_key, make_settings
) -> None:
    """The benchmark's control design (one locked pool row) gives the same answers."""
    players = [await new_player(coins=20) for _ in range(8)]
    before = await pool_balance(client, players[0].headers, "naive_jackpot")

    async def contribute(player, headers):
        return await client.post(
            "/v1/pools/naive_jackpot/contributions",
            json={"currency": "coins", "amount": 2},
            headers={**player.headers, **headers},
        )

    answers = await asyncio.gather(*(contribute(p, fresh_key()) for p in players for _ in range(3)))
    assert {a.status_code for a in answers} == {201}
    twin_key = fresh_key()
    twins = await asyncio.gather(*(contribute(players[0], twin_key) for _ in range(10)))
    assert {a.status_code for a in twins} == {201}
    assert len({a.json()["txn_id"] for a in twins}) == 1
    assert await pool_balance(client, players[0].headers, "naive_jackpot") == before + 8 * 3 * 2 + 2
    wallet = await client.get("/v1/wallet", headers=players[0].headers)
    assert wallet.json()["balances"]["coins"] == 20 - 3 * 2 - 2
    poor = await new_player(coins=1)
    refused = await contribute(poor, fresh_key())
    assert refused.status_code == 409 and refused.json()["error"] == "insufficient_funds"
    _, violations = await run_checks(make_settings().database_url, {})
    assert violations == []
