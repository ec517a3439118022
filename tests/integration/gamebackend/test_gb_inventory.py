"""Event-sourced inventory and the store: purchase is all-or-nothing, never below zero."""

from __future__ import annotations

import uuid

import pytest

pytestmark = pytest.mark.integration


async def state(client, player) -> tuple[int, dict[str, int]]:
    wallet = await client.get("/v1/wallet", headers=player.headers)
    items = await client.get("/v1/inventory", headers=player.headers)
    assert wallet.status_code == items.status_code == 200
    return wallet.json()["balances"]["coins"], items.json()["items"]


async def test_purchase_debits_the_catalogue_price_and_grants_items(
    client, new_player, fresh_key
) -> None:
    player = await new_player(coins=1000)
    catalogue = await client.get("/v1/store/items", headers=player.headers)
    price = {i["item_id"]: i["price"]["amount"] for i in catalogue.json()["items"]}["sword"]
    response = await client.post(
        "/v1/store/purchase",
        json={"item_id": "sword", "qty": 2},
        headers={**player.headers, **fresh_key()},
    )
    assert response.status_code == 201
    assert response.json()["cost"] == 2 * price and response.json()["owned"] == 2
    assert await state(client, player) == (1000 - 2 * price, {"sword": 2})


async def test_unaffordable_purchase_changes_nothing(client, new_player, fresh_key) -> None:
    player = await new_player(coins=100)  # a sword costs 250
    response = await client.post(
        "/v1/store/purchase",
        json={"item_id": "sword", "qty": 1},
        headers={**player.headers, **fresh_key()},
    )
    assert response.status_code == 409
    assert response.json()["error"] == "insufficient_funds"
    assert await state(client, player) == (100, {})
    events = await client.get("/v1/inventory/events", headers=player.headers)
    assert events.json()["events"] == []


async def test_consume_never_goes_below_zero(client, new_player, fresh_key) -> None:
    player = await new_player(coins=100)
    await client.post(
        "/v1/store/purchase",
        json={"item_id": "potion", "qty": 3},
        headers={**player.headers, **fresh_key()},
    )
    used = await client.post(
        "/v1/inventory/consume",
        json={"item_id": "potion", "qty": 2},
        headers={**player.headers, **fresh_key()},
    )
    assert used.status_code == 201 and used.json()["owned"] == 1
    too_many = await client.post(
        "/v1/inventory/consume",
        json={"item_id": "potion", "qty": 2},
        headers={**player.headers, **fresh_key()},
    )
    assert too_many.status_code == 409
    assert too_many.json()["error"] == "insufficient_items"
    never_had = await client.post(
        "/v1/inventory/consume",
        json={"item_id": "shield", "qty": 1},
        headers={**player.headers, **fresh_key()},
    )
    assert never_had.status_code == 409
    assert (await state(client, player))[1] == {"potion": 1}


async def test_events_are_the_history_and_inventory_their_fold(
    client, new_player, admin, fresh_key
) -> None:
    player = await new_player(coins=100)
    grant = {"item_id": "xp_boost", "qty": 5, "player_id": player.player_id}
    assert (
        await client.post("/v1/inventory/grants", json=grant, headers={**admin, **fresh_key()})
    ).status_code == 201
    for qty in (1, 2):
        await client.post(
            "/v1/inventory/consume", json={"item_id": "xp_boost", "qty": qty},
            headers={**player.headers, **fresh_key()},
        )  # fmt: skip
    page = await client.get("/v1/inventory/events", params={"limit": 2}, headers=player.headers)
    first = page.json()
    assert [e["delta"] for e in first["events"]] == [-2, -1]
    rest = await client.get(
        "/v1/inventory/events", params={"cursor": first["next_cursor"]}, headers=player.headers
    )
    assert [(e["delta"], e["kind"]) for e in rest.json()["events"]] == [(5, "grant")]
    assert (await state(client, player))[1] == {"xp_boost": 2}


async def test_replayed_purchase_buys_once(client, new_player, fresh_key) -> None:
    player = await new_player(coins=100)
    headers = {**player.headers, **fresh_key()}
    body = {"item_id": "potion", "qty": 1}
    first = await client.post("/v1/store/purchase", json=body, headers=headers)
    again = await client.post("/v1/store/purchase", json=body, headers=headers)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert await state(client, player) == (90, {"potion": 1})


async def test_inventory_body_validation(client, new_player, admin, fresh_key) -> None:
    player = await new_player(coins=100)
    cases = [
        ("/v1/store/purchase", {"item_id": "excalibur", "qty": 1}, "unknown item 'excalibur'"),
        ("/v1/store/purchase", {"item_id": "potion", "qty": 0}, "qty"),
        ("/v1/store/purchase", {"item_id": "potion", "qty": 1001}, "qty"),
        ("/v1/inventory/consume", {"item_id": "potion", "qty": 1.0}, "qty"),
    ]
    for path, body, expected in cases:
        response = await client.post(path, json=body, headers={**player.headers, **fresh_key()})
        assert response.status_code == 422, body
        assert expected in response.json()["message"]
    grant_to_nobody = {
        "item_id": "potion",
        "qty": 1,
        "player_id": "00000000-0000-4000-8000-00000000beef",
    }
    response = await client.post(
        "/v1/inventory/grants", json=grant_to_nobody, headers={**admin, **fresh_key()}
    )
    assert response.status_code == 422
    assert await state(client, player) == (100, {})


async def test_admin_reading_an_unknown_players_inventory_is_404(client, new_player, admin) -> None:
    nobody = str(uuid.uuid4())
    for path in ("/v1/inventory", "/v1/inventory/events"):
        response = await client.get(path, params={"player_id": nobody}, headers=admin)
        assert response.status_code == 404, path
        assert response.json() == {"error": "not_found", "message": f"no player {nobody}"}
    player = await new_player(coins=0)  # known, and owns nothing: an empty answer, not a 404
    params = {"player_id": player.player_id}
    items = await client.get("/v1/inventory", params=params, headers=admin)
    assert items.status_code == 200 and items.json() == {"player_id": player.player_id, "items": {}}
    events = await client.get("/v1/inventory/events", params=params, headers=admin)
    assert events.status_code == 200 and events.json() == {"events": [], "next_cursor": None}
