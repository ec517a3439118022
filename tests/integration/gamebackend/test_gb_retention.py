"""Retention of idempotency keys: keys older than GAMEBACKEND_IDEMPOTENCY_RETENTION (24 h) are
pruned in bounded batches, by every API process in the background and by ``gamebackend prune``;
a replay within the retention still answers the stored response."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable

import asyncpg
import httpx
import pytest

pytestmark = pytest.mark.integration

Key = Callable[[], dict[str, str]]
DEBIT = {"currency": "coins", "amount": -10}


async def _age(conn: asyncpg.Connection, scope: str, key: str, hours: float) -> None:
    """Make a stored key look ``hours`` old (the retention is 24 h: tests cannot wait)."""
    aged = await conn.fetchval(
        "UPDATE idempotency SET created_at = now() - make_interval(secs => $3)"
        " WHERE scope = $1 AND key = $2 RETURNING 1",
        scope, key, hours * 3600,
    )  # fmt: skip
    assert aged == 1, "the key was stored"


async def _stored(conn: asyncpg.Connection, scope: str, key: str) -> bool:
    found = await conn.fetchval(
        "SELECT 1 FROM idempotency WHERE scope = $1 AND key = $2", scope, key
    )
    return found is not None


async def test_background_prune_drops_old_keys_and_keeps_recent_ones(
    extra_api, new_player, embedded, fresh_key: Key
) -> None:
    api = await extra_api(idempotency_prune_interval=0.2)
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30) as http:
        player = await new_player(coins=100, http=http)
        scope = player.player_id
        old_key, recent_key = fresh_key(), fresh_key()
        url = "/v1/wallet/transactions"
        old = await http.post(url, json=DEBIT, headers={**player.headers, **old_key})
        recent = await http.post(url, json=DEBIT, headers={**player.headers, **recent_key})
        assert old.status_code == recent.status_code == 201
        conn = await asyncpg.connect(embedded.database_url)
        try:
            await _age(conn, scope, old_key["Idempotency-Key"], hours=25)
            await _age(conn, scope, recent_key["Idempotency-Key"], hours=23)
            deadline = time.monotonic() + 15
            while await _stored(conn, scope, old_key["Idempotency-Key"]):
                assert time.monotonic() < deadline, "the 25 h old key was never pruned"
                await asyncio.sleep(0.1)
            assert await _stored(conn, scope, recent_key["Idempotency-Key"])
        finally:
            await conn.close()
        # Within the retention: the stored answer, nothing written.
        replay = await http.post(url, json=DEBIT, headers={**player.headers, **recent_key})
        assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"
        assert replay.json() == recent.json()
        # Past it the key is gone: the same request is a new write.
        again = await http.post(url, json=DEBIT, headers={**player.headers, **old_key})
        assert again.status_code == 201 and "Idempotent-Replayed" not in again.headers
        assert again.json()["txn_id"] != old.json()["txn_id"]
        assert again.json()["balance"] == 70


async def test_prune_command_deletes_in_bounded_batches(
    run_gamebackend, cli_env, make_settings
) -> None:
    base = make_settings().database_url
    name = f"gb_prune_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f"CREATE DATABASE {name}")
    dsn = base.replace("/postgres?", f"/{name}?")
    try:
        assert run_gamebackend("migrate", env=cli_env(DATABASE_URL=dsn)).returncode == 0
        conn = await asyncpg.connect(dsn)
        try:
            player = await conn.fetchval("SELECT gb_create_player('p', ARRAY['coins'])")
            for i in range(7):
                await conn.fetchrow(
                    "SELECT * FROM gb_wallet_tx('admin', $1, '\\x00', $2, 'coins', 10, '')",
                    f"k{i}", player,
                )  # fmt: skip
            for i in range(5):
                await _age(conn, "admin", f"k{i}", hours=24.5)
            env = cli_env(DATABASE_URL=dsn, GAMEBACKEND_IDEMPOTENCY_PRUNE_BATCH="2")
            result = run_gamebackend("prune", env=env)
            assert result.returncode == 0, result.stderr
            assert result.stdout.strip() == (
                "pruned 5 idempotency keys older than 86400 s in 3 batches of at most 2"
            )
            left = await conn.fetch("SELECT key FROM idempotency ORDER BY key")
            assert [r["key"] for r in left] == ["k5", "k6"]
        finally:
            await conn.close()
        nothing = run_gamebackend("prune", env=env)
        assert nothing.stdout.strip().startswith("pruned 0 idempotency keys")
        assert run_gamebackend("check", env=cli_env(DATABASE_URL=dsn)).returncode == 0
        short = run_gamebackend("prune", env=cli_env(GAMEBACKEND_IDEMPOTENCY_RETENTION="5"))
        assert short.returncode == 2 and len(short.stderr.strip().splitlines()) == 1
        assert short.stderr.startswith("error: GAMEBACKEND_IDEMPOTENCY_RETENTION:")
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
