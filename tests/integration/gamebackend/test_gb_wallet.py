"""Wallet endpoints against real PostgreSQL and Redis: success and every refusal."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import httpx
import pytest

pytestmark = pytest.mark.integration

Key = Callable[[], dict[str, str]]


async def balance(
    client: httpx.AsyncClient, headers: dict[str, str], currency: str = "coins"
) -> int:
    response = await client.get("/v1/wallet", headers=headers)
    assert response.status_code == 200, response.text
    return int(response.json()["balances"][currency])


async def test_new_player_has_every_currency_at_zero(client, new_player) -> None:
    player = await new_player()
    response = await client.get("/v1/wallet", headers=player.headers)
    assert response.status_code == 200
    assert response.json() == {"player_id": player.player_id, "balances": {"coins": 0, "gems": 0}}


async def test_admin_credit_then_player_debit(client, new_player, admin, fresh_key: Key) -> None:
    player = await new_player()
    body = {
        "currency": "gems",
        "amount": 500,
        "reason": "daily reward",
        "player_id": player.player_id,
    }
    credit = await client.post(
        "/v1/wallet/transactions", json=body, headers={**admin, **fresh_key()}
    )
    assert credit.status_code == 201
    assert credit.json()["balance"] == 500 and credit.json()["currency"] == "gems"
    debit = await client.post(
        "/v1/wallet/transactions",
        json={"currency": "gems", "amount": -120, "reason": "boost"},
        headers={**player.headers, **fresh_key()},
    )
    assert debit.status_code == 201
    assert debit.json()["balance"] == 380
    assert await balance(client, player.headers, "gems") == 380


async def test_player_cannot_credit_itself(client, new_player, fresh_key: Key) -> None:
    player = await new_player()
    response = await client.post(
        "/v1/wallet/transactions",
        json={"currency": "coins", "amount": 100},
        headers={**player.headers, **fresh_key()},
    )
    assert response.status_code == 403
    assert await balance(client, player.headers) == 0


async def test_debit_beyond_balance_is_409_and_writes_nothing(
    client, new_player, fresh_key: Key
) -> None:
    player = await new_player(coins=50)
    response = await client.post(
        "/v1/wallet/transactions",
        json={"currency": "coins", "amount": -51},
        headers={**player.headers, **fresh_key()},
    )
    assert response.status_code == 409
    assert response.json()["error"] == "insufficient_funds"
    assert await balance(client, player.headers) == 50
    ledger = await client.get("/v1/wallet/ledger", headers=player.headers)
    assert [e["amount"] for e in ledger.json()["entries"]] == [50]


async def test_refused_key_can_be_used_again_once_funded(
    client, new_player, admin, fresh_key: Key
) -> None:
    player = await new_player(coins=5)
    headers = {**player.headers, **fresh_key()}
    body = {"currency": "coins", "amount": -10}
    assert (
        await client.post("/v1/wallet/transactions", json=body, headers=headers)
    ).status_code == 409
    top_up = {"currency": "coins", "amount": 10, "player_id": player.player_id}
    await client.post("/v1/wallet/transactions", json=top_up, headers={**admin, **fresh_key()})
    retry = await client.post("/v1/wallet/transactions", json=body, headers=headers)
    assert retry.status_code == 201 and retry.json()["balance"] == 5


async def test_replay_returns_the_stored_answer_and_writes_nothing(
    client, new_player, fresh_key: Key
) -> None:
    player = await new_player(coins=100)
    headers = {**player.headers, **fresh_key()}
    body = {"currency": "coins", "amount": -30, "reason": "shop"}
    first = await client.post("/v1/wallet/transactions", json=body, headers=headers)
    # Same body, different key order and spacing: still the same request.
    again = await client.post(
        "/v1/wallet/transactions",
        content=b'{ "reason": "shop",  "amount": -30, "currency": "coins" }',
        headers={**headers, "Content-Type": "application/json"},
    )
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await balance(client, player.headers) == 70


async def test_same_key_different_body_is_422(client, new_player, fresh_key: Key) -> None:
    player = await new_player(coins=100)
    headers = {**player.headers, **fresh_key()}
    await client.post(
        "/v1/wallet/transactions", json={"currency": "coins", "amount": -1}, headers=headers
    )
    other = await client.post(
        "/v1/wallet/transactions", json={"currency": "coins", "amount": -2}, headers=headers
    )
    assert other.status_code == 422
    assert other.json()["error"] == "idempotency_key_reused"
    assert await balance(client, player.headers) == 99


async def test_keys_are_scoped_per_player(client, new_player, fresh_key: Key) -> None:
    one, two = await new_player(coins=10), await new_player(coins=10)
    shared = fresh_key()
    body = {"currency": "coins", "amount": -4}
    first = await client.post(
        "/v1/wallet/transactions", json=body, headers={**one.headers, **shared}
    )
    second = await client.post(
        "/v1/wallet/transactions", json=body, headers={**two.headers, **shared}
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["txn_id"] != second.json()["txn_id"]


async def test_missing_idempotency_key_is_400(client, new_player) -> None:
    player = await new_player(coins=10)
    response = await client.post(
        "/v1/wallet/transactions", json={"currency": "coins", "amount": -1}, headers=player.headers
    )
    assert response.status_code == 400
    assert response.json()["error"] == "idempotency_key_required"


async def test_invalid_bodies_are_422_with_the_field_named(
    client, new_player, fresh_key: Key
) -> None:
    player = await new_player(coins=10)
    cases = [
        ({"currency": "coins", "amount": 1.5}, "amount"),
        ({"currency": "coins", "amount": "-1"}, "amount"),
        ({"currency": "coins", "amount": 0}, "amount"),
        ({"currency": "coins", "amount": -1_000_000_001}, "amount"),
        ({"currency": "doubloons", "amount": -1}, "unknown currency 'doubloons'"),
        ({"amount": -1}, "currency"),
        ({"currency": "coins", "amount": -1, "colour": "red"}, "colour"),
    ]
    for body, expected in cases:
        response = await client.post(
            "/v1/wallet/transactions", json=body, headers={**player.headers, **fresh_key()}
        )
        assert response.status_code == 422, body
        assert expected in response.json()["message"], (body, response.json())
    not_json = await client.post(
        "/v1/wallet/transactions", content=b"{not json", headers={**player.headers, **fresh_key()}
    )
    assert not_json.status_code == 422
    assert await balance(client, player.headers) == 10


async def test_oversized_body_is_413(client, new_player, fresh_key: Key) -> None:
    player = await new_player(coins=10)
    big = {"currency": "coins", "amount": -1, "reason": "x" * 20_000}
    response = await client.post(
        "/v1/wallet/transactions", json=big, headers={**player.headers, **fresh_key()}
    )
    assert response.status_code == 413

    async def chunks():  # no Content-Length: the limit applies while reading
        for _ in range(40):
            yield b" " * 1024

    chunked = await client.post(
        "/v1/wallet/transactions", content=chunks(), headers={**player.headers, **fresh_key()}
    )
    assert chunked.status_code == 413
    assert await balance(client, player.headers) == 10


async def test_auth_is_required_and_checked(client, new_player, fresh_key: Key) -> None:
    player = await new_player(coins=10)
    assert (await client.get("/v1/wallet")).status_code == 401
    forged = player.token[:-4] + ("AAAA" if not player.token.endswith("AAAA") else "BBBB")
    assert (
        await client.get("/v1/wallet", headers={"Authorization": f"Bearer {forged}"})
    ).status_code == 401
    wrong_admin = await client.post(
        "/v1/wallet/transactions",
        json={"currency": "coins", "amount": 5, "player_id": player.player_id},
        headers={"X-Admin-Key": "guess", **fresh_key()},
    )
    assert wrong_admin.status_code == 403
    assert await balance(client, player.headers) == 10


async def test_admin_credit_needs_an_existing_player(client, admin, fresh_key: Key) -> None:
    body = {"currency": "coins", "amount": 5, "player_id": "00000000-0000-4000-8000-000000000000"}
    response = await client.post(
        "/v1/wallet/transactions", json=body, headers={**admin, **fresh_key()}
    )
    assert response.status_code == 422
    assert response.json()["error"] == "unknown_player"


async def test_ledger_is_newest_first_with_keyset_pages(client, new_player, fresh_key: Key) -> None:
    player = await new_player(coins=100, gems=7)
    for amount in (-1, -2, -3, -4):
        await client.post(
            "/v1/wallet/transactions",
            json={"currency": "coins", "amount": amount},
            headers={**player.headers, **fresh_key()},
        )
    seen: list[int] = []
    cursor = ""
    while True:
        page = await client.get(
            "/v1/wallet/ledger", params={"currency": "coins", "limit": 2, "cursor": cursor},
            headers=player.headers,
        )  # fmt: skip
        assert page.status_code == 200
        data = page.json()
        seen += [entry["amount"] for entry in data["entries"]]
        if data["next_cursor"] is None:
            break
        cursor = data["next_cursor"]
    assert seen == [-4, -3, -2, -1, 100]
    everything = await client.get("/v1/wallet/ledger", headers=player.headers)
    assert [e["currency"] for e in everything.json()["entries"]].count("gems") == 1
    first = everything.json()["entries"][0]
    assert first["balance"] == 90 and first["kind"] == "debit"
    bad = await client.get("/v1/wallet/ledger", params={"cursor": "abc"}, headers=player.headers)
    assert bad.status_code == 422


async def test_transfer_moves_money_atomically(client, new_player, fresh_key: Key) -> None:
    payer, payee = await new_player(coins=100), await new_player()
    body = {"to_player": payee.player_id, "currency": "coins", "amount": 40}
    response = await client.post(
        "/v1/wallet/transfers", json=body, headers={**payer.headers, **fresh_key()}
    )
    assert response.status_code == 201
    assert response.json()["balance"] == 60
    assert await balance(client, payer.headers) == 60
    assert await balance(client, payee.headers) == 40
    too_much = {**body, "amount": 61}
    refused = await client.post(
        "/v1/wallet/transfers", json=too_much, headers={**payer.headers, **fresh_key()}
    )
    assert refused.status_code == 409
    assert await balance(client, payer.headers) == 60
    assert await balance(client, payee.headers) == 40


async def test_transfer_refusals(client, new_player, fresh_key: Key) -> None:
    payer = await new_player(coins=100)
    to_self = {"to_player": payer.player_id, "currency": "coins", "amount": 1}
    response = await client.post(
        "/v1/wallet/transfers", json=to_self, headers={**payer.headers, **fresh_key()}
    )
    assert response.status_code == 422
    nobody = {"to_player": "00000000-0000-4000-8000-000000000001", "currency": "coins", "amount": 1}
    response = await client.post(
        "/v1/wallet/transfers", json=nobody, headers={**payer.headers, **fresh_key()}
    )
    assert response.status_code == 422 and response.json()["error"] == "unknown_player"
    negative = {"to_player": payer.player_id, "currency": "coins", "amount": -5}
    response = await client.post(
        "/v1/wallet/transfers", json=negative, headers={**payer.headers, **fresh_key()}
    )
    assert response.status_code == 422
    assert await balance(client, payer.headers) == 100


async def test_admin_reading_an_unknown_players_wallet_is_404(client, new_player, admin) -> None:
    nobody = str(uuid.uuid4())
    # Twice: the first read must not leave an empty balance behind for the second to serve.
    for _ in range(2):
        response = await client.get("/v1/wallet", params={"player_id": nobody}, headers=admin)
        assert response.status_code == 404
        assert response.json() == {"error": "not_found", "message": f"no player {nobody}"}
    player = await new_player(gems=3)
    known = await client.get("/v1/wallet", params={"player_id": player.player_id}, headers=admin)
    assert known.status_code == 200
    assert known.json() == {"player_id": player.player_id, "balances": {"coins": 0, "gems": 3}}
