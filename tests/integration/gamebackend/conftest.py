"""Fixtures for the backend's integration tests: real embedded PostgreSQL and Redis for the
session, the API served by a real uvicorn on an ephemeral port, and builders for players.

Every test creates its own players, so tests never reset the database; boards used by a test
are declared in a session leaderboards file and written by that test only.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from gamebackend.app import create_app
from gamebackend.embedded import EmbeddedServers
from gamebackend.settings import Settings

ADMIN_KEY = "test-admin-key"
SECRET = "test-token-secret"
ADMIN = {"X-Admin-Key": ADMIN_KEY}
BOARDS = """
leaderboards:
  - {id: t_rank,     operator: best,      reset: none}
  - {id: t_best,     operator: best,      reset: none}
  - {id: t_latest,   operator: latest,    reset: none}
  - {id: t_inc,      operator: increment, reset: none}
  - {id: t_daily,    operator: best,      reset: daily}
  - {id: t_weekly,   operator: increment, reset: weekly}
  - {id: t_rebuild,  operator: best,      reset: none}
  - {id: t_outage,   operator: best,      reset: none}
  - {id: t_page,     operator: best,      reset: none}
"""


@dataclass(frozen=True)
class Player:
    player_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class RunningApi:
    base_url: str
    server: uvicorn.Server
    task: asyncio.Task[None]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _key() -> dict[str, str]:
    return {"Idempotency-Key": str(uuid.uuid4())}


@pytest.fixture(scope="session")
def fresh_key() -> Callable[[], dict[str, str]]:
    """``fresh_key()``: a new ``Idempotency-Key`` header."""
    return _key


@pytest.fixture(scope="session")
def admin() -> dict[str, str]:
    """Headers of a game server (the admin key)."""
    return dict(ADMIN)


def _scratch_dir() -> Path:
    # Not under pytest's basetemp: as root, pgserver runs PostgreSQL as the "pgserver" user,
    # and any pytest run that starts meanwhile resets /tmp/pytest-of-root to mode 0700, which
    # locks that user out of its own data directory.
    return Path(tempfile.mkdtemp(prefix="gamebackend-test-"))


@pytest.fixture(scope="session")
def embedded() -> Iterator[EmbeddedServers]:
    root = _scratch_dir()
    servers = EmbeddedServers(root / "servers").start()
    try:
        yield servers
    finally:
        servers.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def scratch() -> Iterator[Path]:
    """A directory for a test's own embedded servers (removed afterwards)."""
    root = _scratch_dir()
    try:
        yield root
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def boards_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("gb-data") / "leaderboards.yaml"
    path.write_text(BOARDS)
    return path


@pytest.fixture(scope="session")
def make_settings(embedded: EmbeddedServers, boards_file: Path) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": embedded.database_url,
            "redis_url": embedded.redis_url,
            "admin_key": ADMIN_KEY,
            "secret": SECRET,
            "version": "test",
            "leaderboards": boards_file,
            "heartbeat_interval": 1.0,
        }
        values.update(overrides)
        return Settings(**values)

    return make


async def _start_api(settings: Settings) -> RunningApi:
    """The app under a real uvicorn, on a socket bound to an ephemeral port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(
        create_app(settings), lifespan="on", log_level="warning", access_log=False
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    for _ in range(400):
        if server.started or task.done():
            break
        await asyncio.sleep(0.05)
    if not server.started:
        server.should_exit = True
        raise RuntimeError("the API did not start")
    return RunningApi(f"http://127.0.0.1:{port}", server, task)


async def _stop_api(api: RunningApi) -> None:
    api.server.should_exit = True
    await asyncio.wait_for(api.task, timeout=20)


@pytest.fixture(scope="session")
async def api(make_settings: Callable[..., Settings]) -> AsyncIterator[RunningApi]:
    running = await _start_api(make_settings())
    try:
        yield running
    finally:
        await _stop_api(running)


@pytest.fixture
async def extra_api(
    make_settings: Callable[..., Settings],
) -> AsyncIterator[Callable[..., Awaitable[RunningApi]]]:
    """``await extra_api(faults=...)``: another API instance with other settings, stopped at
    the end of the test."""
    started: list[RunningApi] = []

    async def start(**overrides: Any) -> RunningApi:
        running = await _start_api(make_settings(**overrides))
        started.append(running)
        return running

    try:
        yield start
    finally:
        for running in started:
            await _stop_api(running)


@pytest.fixture
async def client(api: RunningApi) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=api.base_url, timeout=30, limits=limits) as http:
        yield http


NewPlayer = Callable[..., Awaitable[Player]]


async def _create_player(http: httpx.AsyncClient, coins: int = 0, gems: int = 0) -> Player:
    response = await http.post("/v1/players", json={"name": "tester"})
    assert response.status_code == 201, response.text
    player = Player(**response.json())
    for currency, amount in (("coins", coins), ("gems", gems)):
        if amount:
            body = {"currency": currency, "amount": amount, "player_id": player.player_id}
            credit = await http.post(
                "/v1/wallet/transactions", json=body, headers={**ADMIN, **_key()}
            )
            assert credit.status_code == 201, credit.text
    return player


@pytest.fixture
def new_player(client: httpx.AsyncClient) -> NewPlayer:
    """``await new_player(coins=100)``: a fresh player, optionally funded by the admin key
    (against any API: ``await new_player(http=other_client)``)."""

    async def make(coins: int = 0, gems: int = 0, http: httpx.AsyncClient | None = None) -> Player:
        return await _create_player(http or client, coins, gems)

    return make


@pytest.fixture(scope="session")
def cli_env(make_settings: Callable[..., Settings]) -> Callable[..., dict[str, str]]:
    """``cli_env(**extra)``: the environment of a ``gamebackend`` subprocess sharing the
    session's servers (extra variables override)."""
    settings = make_settings()

    def build(**extra: str) -> dict[str, str]:
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith(("GAMEBACKEND_", "PROMETHEUS_"))
            and k not in ("DATABASE_URL", "REDIS_URL")
        }
        env.update(
            DATABASE_URL=settings.database_url or "",
            REDIS_URL=settings.redis_url or "",
            GAMEBACKEND_ADMIN_KEY=ADMIN_KEY,
            GAMEBACKEND_SECRET=SECRET,
            GAMEBACKEND_LEADERBOARDS=str(settings.leaderboards),
            GAMEBACKEND_VERSION="subprocess",
        )
        env.update(extra)
        return env

    return build


@pytest.fixture(scope="session")
def gamebackend_cmd() -> Callable[..., list[str]]:
    """``gamebackend_cmd("serve", ...)``: argv running this checkout's ``gamebackend``."""
    return lambda *args: [sys.executable, "-m", "gamebackend", *args]


@pytest.fixture(scope="session")
def run_gamebackend(
    gamebackend_cmd: Callable[..., list[str]],
) -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_gamebackend("check", env=...)``: run a short CLI command to completion."""

    def run(
        *args: str, env: dict[str, str], timeout: float = 90
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            gamebackend_cmd(*args), env=env, capture_output=True, text=True, timeout=timeout
        )

    return run


@pytest.fixture(scope="session")
def free_tcp_port() -> Callable[[], int]:
    return free_port
