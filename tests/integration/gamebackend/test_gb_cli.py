"""The ``gamebackend`` command: input errors, ``check``, crash safety (SIGKILL mid-load), and
``serve --workers`` with embedded servers it owns."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import subprocess
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

pytestmark = pytest.mark.integration


@contextlib.contextmanager
def serving(cmd: list[str], env: dict[str, str], log: Path):
    """A ``gamebackend serve`` process; SIGTERM (then SIGKILL) at the end."""
    with log.open("ab") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


async def wait_healthy(base_url: str, proc: subprocess.Popen, timeout: float = 60) -> int:
    """Poll /healthz until it answers; return how many polls succeeded (always 1)."""
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient(base_url=base_url, timeout=2) as http:
        while time.monotonic() < deadline:
            assert proc.poll() is None, f"gamebackend serve exited with {proc.returncode}"
            with contextlib.suppress(httpx.TransportError):
                if (await http.get("/healthz")).status_code == 200:
                    return 1
            await asyncio.sleep(0.2)
    raise AssertionError("gamebackend serve did not become healthy")


def test_malformed_faults_refuse_to_start(run_gamebackend, cli_env, tmp_path) -> None:
    result = run_gamebackend(
        "serve", "--data-dir", str(tmp_path), env=cli_env(GAMEBACKEND_FAULTS="latency=fast@0.2")
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "GAMEBACKEND_FAULTS" in lines[0] and "latency=fast" in lines[0]
    assert not (tmp_path / "pg").exists(), "nothing was started"


def test_bad_settings_and_flags_are_one_line_exit_2(run_gamebackend, cli_env, tmp_path) -> None:
    bad_env = run_gamebackend("check", env=cli_env(GAMEBACKEND_DB_POOL_SIZE="many"))
    assert bad_env.returncode == 2 and "GAMEBACKEND_DB_POOL_SIZE" in bad_env.stderr
    assert len(bad_env.stderr.strip().splitlines()) == 1
    workers = run_gamebackend("serve", "--workers", "0", env=cli_env())
    assert workers.returncode == 2 and "--workers" in workers.stderr
    env = cli_env()
    del env["DATABASE_URL"]
    no_db = run_gamebackend("check", "--data-dir", str(tmp_path / "empty"), env=env)
    assert no_db.returncode == 2 and "no database there" in no_db.stderr


async def test_check_names_each_violation(run_gamebackend, cli_env, make_settings) -> None:
    base = make_settings().database_url
    name = f"gb_corrupt_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(base)
    await admin.execute(f"CREATE DATABASE {name}")
    dsn = base.replace("/postgres?", f"/{name}?")
    try:
        assert run_gamebackend("migrate", env=cli_env(DATABASE_URL=dsn)).returncode == 0
        assert run_gamebackend("check", env=cli_env(DATABASE_URL=dsn)).returncode == 0
        conn = await asyncpg.connect(dsn)
        try:
            player = await conn.fetchval("SELECT gb_create_player('victim', ARRAY['coins'])")
            await conn.fetchrow(
                "SELECT * FROM gb_wallet_tx('admin', 'k1', '\\x00', $1, 'coins', 10, '')", player
            )
            await conn.execute(
                "UPDATE wallets SET balance = balance + 5 WHERE player_id = $1", player
            )
            await conn.execute(
                "INSERT INTO idempotency (scope, key, request_hash, txn_id, response)"
                " VALUES ('x', 'y', '\\x00', gen_random_uuid(), '{}')"
            )
            await conn.execute(
                "INSERT INTO inventory_items (player_id, item_id, qty) VALUES ($1, 'sword', 3)",
                player,
            )
        finally:
            await conn.close()
        result = run_gamebackend("check", env=cli_env(DATABASE_URL=dsn))
        assert result.returncode == 1
        named = {
            line.split(":")[0].removeprefix("VIOLATION ") for line in result.stdout.splitlines()
        }
        assert named == {
            "wallet_equals_ledger",
            "idempotency_points_at_entries",
            "inventory_equals_events",
        }
        assert str(player) in result.stdout
    finally:
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()


async def test_sigkill_during_writes_loses_nothing_acknowledged(
    gamebackend_cmd, run_gamebackend, cli_env, free_tcp_port, make_settings, admin, tmp_path
) -> None:
    log = tmp_path / "serve.log"
    port = free_tcp_port()
    base = f"http://127.0.0.1:{port}"
    cmd = gamebackend_cmd("serve", "--port", str(port))
    acknowledged: dict[str, str] = {}  # idempotency key -> txn_id
    unknown: list[tuple[dict[str, str], str]] = []  # (headers, key) of answers lost in the crash
    tokens: list[str] = []
    with serving(cmd, cli_env(), log) as proc:
        await wait_healthy(base, proc)
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            players = []
            for _ in range(6):
                created = (await http.post("/v1/players", json={"name": "crash"})).json()
                body = {"currency": "coins", "amount": 10**6, "player_id": created["player_id"]}
                credit = await http.post(
                    "/v1/wallet/transactions",
                    json=body,
                    headers={**admin, "Idempotency-Key": uuid.uuid4().hex},
                )
                assert credit.status_code == 201
                players.append({"Authorization": f"Bearer {created['token']}"})
                tokens.append(created["token"])
            await http.get(
                "/v1/wallet", headers={"Authorization": "Bearer gb1.not-a-real-token.xyz"}
            )

            async def writer(headers: dict[str, str]) -> None:
                while True:
                    key = uuid.uuid4().hex
                    try:
                        answer = await http.post(
                            "/v1/wallet/transactions",
                            json={"currency": "coins", "amount": -1},
                            headers={**headers, "Idempotency-Key": key},
                        )
                    except httpx.TransportError:
                        unknown.append((headers, key))
                        return
                    assert answer.status_code == 201, answer.text
                    acknowledged[key] = answer.json()["txn_id"]

            load = [asyncio.create_task(writer(h)) for h in players]
            while len(acknowledged) < 60:
                await asyncio.sleep(0.05)
            proc.send_signal(signal.SIGKILL)
            proc.wait(timeout=10)
            await asyncio.wait_for(asyncio.gather(*load), timeout=30)

    port = free_tcp_port()
    base = f"http://127.0.0.1:{port}"
    with serving(gamebackend_cmd("serve", "--port", str(port)), cli_env(), log) as proc:
        await wait_healthy(base, proc)
        check = run_gamebackend("check", env=cli_env())
        assert check.returncode == 0, check.stdout + check.stderr
        conn = await asyncpg.connect(make_settings().database_url)
        try:
            stored = await conn.fetch(
                "SELECT txn_id::text FROM ledger WHERE txn_id = ANY($1::uuid[])",
                list(acknowledged.values()),
            )
        finally:
            await conn.close()
        assert len(stored) == len(acknowledged) >= 60
        # A request whose answer was lost in the crash is safe to retry with its key.
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            for headers, key in unknown:
                retry = await http.post(
                    "/v1/wallet/transactions",
                    json={"currency": "coins", "amount": -1},
                    headers={**headers, "Idempotency-Key": key},
                )
                assert retry.status_code == 201
        assert run_gamebackend("check", env=cli_env()).returncode == 0
    logged = log.read_text()
    assert "Uvicorn running" in logged
    for token in [*tokens, "gb1.not-a-real-token.xyz"]:
        assert token not in logged


def _pid_of(data_dir: Path) -> tuple[int, int]:
    postmaster = int((data_dir / "pg" / "postmaster.pid").read_text().splitlines()[0])
    registry = json.loads((data_dir / "redis" / "redis.db.settings").read_text())
    redis_pid = int(Path(registry["pidfile"]).read_text().strip())
    return postmaster, redis_pid


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


async def test_workers_share_embedded_servers_and_metrics(
    gamebackend_cmd, run_gamebackend, cli_env, free_tcp_port, scratch, tmp_path
) -> None:
    data = scratch / "data"
    env = cli_env()
    for name in ("DATABASE_URL", "REDIS_URL", "GAMEBACKEND_ADMIN_KEY"):
        del env[name]
    port = free_tcp_port()
    base = f"http://127.0.0.1:{port}"
    cmd = gamebackend_cmd("serve", "--port", str(port), "--workers", "2", "--data-dir", str(data))
    with serving(cmd, env, tmp_path / "workers.log") as proc:
        polls = await wait_healthy(base, proc, timeout=90)
        postgres_pid, redis_pid = _pid_of(data)
        servers = [
            p
            for p in psutil.process_iter(["cmdline"])
            if str(data / "pg") in " ".join(p.info["cmdline"] or [])
        ]
        assert len([p for p in servers if "-D" in (p.info["cmdline"] or [])]) == 1, "one PostgreSQL"
        created = await _new_player(base)

        async def hit() -> int:
            async with httpx.AsyncClient(base_url=base, headers={"Connection": "close"}) as http:
                return (await http.get("/healthz")).status_code

        for _ in range(4):
            assert set(await asyncio.gather(*(hit() for _ in range(10)))) == {200}
        async with httpx.AsyncClient(base_url=base) as http:
            text = (await http.get("/metrics")).text
        served = sum(
            s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
            if s.name == "http_requests_total"
            and s.labels["route_class"] == "ops"
            and s.labels["status"] == "200"
        )
        assert served == polls + 40
        files = list((data / "metrics").glob("*/counter_*.db"))
        assert len({f.name for f in files}) == 2, "both workers wrote samples that /metrics merged"
        key = run_gamebackend("admin-key", "--data-dir", str(data), env=env)
        assert key.returncode == 0 and len(key.stdout.strip()) >= 32
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
    assert not _alive(postgres_pid) and not _alive(redis_pid), "serve stops the servers it started"

    port = free_tcp_port()
    base = f"http://127.0.0.1:{port}"
    cmd = gamebackend_cmd("serve", "--port", str(port), "--data-dir", str(data))
    with serving(cmd, env, tmp_path / "again.log") as proc:
        await wait_healthy(base, proc, timeout=90)
        async with httpx.AsyncClient(base_url=base) as http:
            again = await http.get(
                f"/v1/players/{created}", headers={"X-Admin-Key": key.stdout.strip()}
            )
        assert again.status_code == 200, "the data survived the restart"


async def _new_player(base: str) -> str:
    async with httpx.AsyncClient(base_url=base) as http:
        response = await http.post("/v1/players", json={"name": "keep"})
        assert response.status_code == 201
        return str(response.json()["player_id"])
