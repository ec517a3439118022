"""A player can never read or move another player's money or items (403), and tokens never
reach the logs."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


async def test_player_a_gets_403_on_everything_of_player_b(client, new_player, fresh_key) -> None:
    a, b = await new_player(coins=100), await new_player(coins=100)
    await client.post(
        "/v1/store/purchase",
        json={"item_id": "potion", "qty": 2},
        headers={**b.headers, **fresh_key()},
    )
    pid, me = b.player_id, a.player_id
    coins = {"currency": "coins"}
    attempts = [
        ("GET", "/v1/wallet", {"player_id": pid}, None),
        ("GET", "/v1/wallet/ledger", {"player_id": pid}, None),
        ("GET", "/v1/inventory", {"player_id": pid}, None),
        ("GET", "/v1/inventory/events", {"player_id": pid}, None),
        ("GET", f"/v1/players/{pid}", None, None),
        ("POST", "/v1/wallet/transactions", None, {**coins, "amount": -10, "player_id": pid}),
        ("POST", "/v1/wallet/transactions", None, {**coins, "amount": 10, "player_id": pid}),
        ("POST", "/v1/wallet/transfers", None,
         {**coins, "to_player": me, "amount": 10, "player_id": pid}),
        ("POST", "/v1/pools/jackpot/contributions", None, {**coins, "amount": 5, "player_id": pid}),
        ("POST", "/v1/pools/jackpot/payouts", None, {**coins, "amount": 1, "player_id": me}),
        ("POST", "/v1/store/purchase", None, {"item_id": "potion", "qty": 1, "player_id": pid}),
        ("POST", "/v1/inventory/consume", None, {"item_id": "potion", "qty": 1, "player_id": pid}),
        ("POST", "/v1/inventory/grants", None, {"item_id": "potion", "qty": 1, "player_id": me}),
        ("POST", "/v1/leaderboards/t_best/scores", None,
         {"score": 5, "submission_id": "x", "player_id": pid}),
    ]  # fmt: skip
    for method, path, params, body in attempts:
        response = await client.request(
            method, path, params=params, json=body, headers={**a.headers, **fresh_key()}
        )
        assert response.status_code == 403, (method, path, response.text)
        assert response.json()["error"] == "forbidden"
    wallet = await client.get("/v1/wallet", headers=b.headers)
    assert wallet.json()["balances"]["coins"] == 80
    items = await client.get("/v1/inventory", headers=b.headers)
    assert items.json()["items"] == {"potion": 2}


async def test_admin_reads_any_player_but_must_name_one(client, new_player, admin) -> None:
    player = await new_player(coins=9)
    own = await client.get("/v1/wallet", params={"player_id": player.player_id}, headers=admin)
    assert own.status_code == 200 and own.json()["balances"]["coins"] == 9
    profile = await client.get(f"/v1/players/{player.player_id}", headers=admin)
    assert profile.status_code == 200 and profile.json()["name"] == "tester"
    assert (await client.get("/v1/wallet", headers=admin)).status_code == 422
    missing = await client.get("/v1/players/00000000-0000-4000-8000-00000000abcd", headers=admin)
    assert missing.status_code == 404


async def test_player_reads_its_own_profile(client, new_player) -> None:
    player = await new_player()
    response = await client.get(f"/v1/players/{player.player_id}", headers=player.headers)
    assert response.status_code == 200
    assert response.json()["player_id"] == player.player_id


async def test_registration_validates_the_name(client) -> None:
    assert (await client.post("/v1/players", json={"name": ""})).status_code == 422
    assert (await client.post("/v1/players", json={"name": "x" * 65})).status_code == 422
    assert (await client.post("/v1/players", json={})).status_code == 422
