"""Fixtures for the realtime and matchmaking tests: real ``gamebackend serve`` processes on
ephemeral ports, sharing one embedded PostgreSQL and Redis, and WebSocket/HTTP helpers.

The two session gateways (``gateways``) both run a matchmaker. The test rules below make
matchmaking fast; tests keep to their own MMR band (``band`` fixture) so their tickets never meet
another test's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import orjson
import pytest
import websockets
from websockets.asyncio.client import ClientConnection

from gamebackend.embedded import EmbeddedServers

ADMIN_KEY = "rt-admin-key"
SECRET = "rt-token-secret"
TEST_RULES = {
    "GAMEBACKEND_MM_REGIONS": "eu,us,asia",
    "GAMEBACKEND_MM_MAX_PING": "100",
    "GAMEBACKEND_MM_REGION_SLACK": "20",
    "GAMEBACKEND_MM_REGION_FALLBACK": "2",
    "GAMEBACKEND_MM_WINDOW_BASE": "50",
    "GAMEBACKEND_MM_WINDOW_WIDEN": "100",
    "GAMEBACKEND_MM_WINDOW_CAP": "300",
    "GAMEBACKEND_MM_EXPIRY": "8",
    "GAMEBACKEND_MM_TICK": "0.1",
    "GAMEBACKEND_WS_SEND_QUEUE": "64",
    "GAMEBACKEND_WS_PRESENCE_TTL": "3",
}
_bands = itertools.count()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Backend:
    """One ``gamebackend serve`` process."""

    proc: subprocess.Popen[bytes]
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill()

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(timeout=10)

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples whose labels include ``labels``."""
        text = httpx.get(self.url + "/metrics", timeout=10).text
        total = 0.0
        for line in text.splitlines():
            if not line.startswith(name + "{") and not line.startswith(name + " "):
                continue
            head, _, value = line.rpartition(" ")
            if all(f'{k}="{v}"' in head for k, v in labels.items()):
                total += float(value)
        return total


def _wait_ready(backend: Backend, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if backend.proc.poll() is not None:
            break
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(backend.url + "/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    backend.kill()
    raise RuntimeError(
        f"gamebackend serve did not become ready:\n{backend.log.read_text()[-3000:]}"
    )


@pytest.fixture(scope="session")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmbeddedServers]:
    servers = EmbeddedServers(tmp_path_factory.mktemp("rt-embedded")).start()
    try:
        yield servers
    finally:
        servers.stop()


@pytest.fixture(scope="session")
def backend_env(embedded: EmbeddedServers) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEBACKEND_")}
    env.update(TEST_RULES)
    env.update({
        "DATABASE_URL": embedded.database_url or "", "REDIS_URL": embedded.redis_url or "",
        "GAMEBACKEND_ADMIN_KEY": ADMIN_KEY, "GAMEBACKEND_SECRET": SECRET,
        "GAMEBACKEND_VERSION": "rt-test",
    })  # fmt: skip
    return env


Launch = Callable[..., Backend]


def _launch(env: dict[str, str], tmp: Path, started: list[Backend], **overrides: str) -> Backend:
    port = free_port()
    log = tmp / f"serve-{port}.log"
    cmd = [
        sys.executable,
        "-m",
        "gamebackend",
        "serve",
        "--port",
        str(port),
        "--data-dir",
        str(tmp),
    ]
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env={**env, **overrides}, stdout=out, stderr=subprocess.STDOUT)
    backend = Backend(proc, port, log)
    started.append(backend)
    _wait_ready(backend)
    return backend


@pytest.fixture(scope="session")
def gateways(
    backend_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Backend, Backend]]:
    """Two gateway processes (each also a matchmaker) for the whole session."""
    tmp = tmp_path_factory.mktemp("rt-gateways")
    started: list[Backend] = []
    try:
        yield _launch(backend_env, tmp, started), _launch(backend_env, tmp, started)
    finally:
        for backend in started:
            backend.stop()


@pytest.fixture
def launch(backend_env: dict[str, str], tmp_path: Path) -> Iterator[Launch]:
    """``launch(**env)``: one more backend process, stopped (or killed) at the end of the test."""
    started: list[Backend] = []
    try:
        yield lambda **overrides: _launch(backend_env, tmp_path, started, **overrides)
    finally:
        for backend in started:
            backend.stop()


BAND = 800  # > the 300 window cap + the largest MMR offset a test uses within its band (450)


@pytest.fixture
async def band(embedded: EmbeddedServers) -> AsyncIterator[int]:
    """An MMR band of this test's own: tickets of different tests never match. Its tickets
    still searching at the end are cancelled, so the band can be used again."""
    low = BAND * (next(_bands) % 12)
    yield low
    conn = await asyncpg.connect(embedded.database_url)
    try:
        await conn.execute(
            "UPDATE mm_tickets SET status = 'cancelled', ended_at = now()"
            " WHERE status = 'searching' AND mmr >= $1 AND mmr < $2",
            low, low + BAND,
        )  # fmt: skip
    finally:
        await conn.close()


@dataclass(frozen=True)
class Player:
    player_id: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@pytest.fixture
async def http(gateways: tuple[Backend, Backend]) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=64)
    async with httpx.AsyncClient(base_url=gateways[0].url, timeout=30, limits=limits) as client:
        yield client


@pytest.fixture
def new_player(http: httpx.AsyncClient) -> Callable[..., Any]:
    """``await new_player(coins=0)``: a fresh player (funded by the game server's credit)."""

    async def make(coins: int = 0) -> Player:
        made = await http.post("/v1/players", json={"name": "rt"})
        assert made.status_code == 201, made.text
        player = Player(**made.json())
        if coins:
            body = {"currency": "coins", "amount": coins, "player_id": player.player_id}
            headers = {"X-Admin-Key": ADMIN_KEY, "Idempotency-Key": str(uuid.uuid4())}
            credit = await http.post("/v1/wallet/transactions", json=body, headers=headers)
            assert credit.status_code == 201, credit.text
        return player

    return make


@dataclass
class WsClient:
    """A WebSocket client speaking the gateway's envelopes; unanswered pushes are kept."""

    conn: ClientConnection
    seen: list[dict[str, Any]] = field(default_factory=list)
    cids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    async def send(self, kind: str, payload: dict[str, Any] | None = None) -> str:
        cid = f"c{next(self.cids)}"
        body: dict[str, Any] = {"type": kind, "cid": cid}
        if payload is not None:
            body["payload"] = payload
        await self.conn.send(orjson.dumps(body).decode())
        return cid

    async def call(self, kind: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        """Send and return the answer carrying the same cid."""
        cid = await self.send(kind, payload)
        return await self.expect(lambda m: m.get("cid") == cid)

    async def expect(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 10
    ) -> dict[str, Any]:
        for i, message in enumerate(self.seen):
            if match(message):
                return self.seen.pop(i)
        async with asyncio.timeout(timeout):
            while True:
                message = orjson.loads(await self.conn.recv())
                if match(message):
                    return message
                self.seen.append(message)

    async def push(self, kind: str, timeout: float = 10, **where: Any) -> dict[str, Any]:
        """The next push of ``kind`` whose payload has the given values."""

        def match(m: dict[str, Any]) -> bool:
            payload = m.get("payload", {})
            return m["type"] == kind and all(payload.get(k) == v for k, v in where.items())

        return await self.expect(match, timeout)


@pytest.fixture
async def ws() -> AsyncIterator[Callable[..., Any]]:
    """``await ws(backend, player)``: a connected WsClient, closed at the end of the test."""
    opened: list[ClientConnection] = []

    async def connect(backend: Backend, player: Player | None = None, **kw: Any) -> WsClient:
        headers = player.headers if player is not None else None
        conn = await websockets.connect(backend.ws_url, additional_headers=headers, **kw)
        opened.append(conn)
        return WsClient(conn)

    try:
        yield connect
    finally:
        for conn in opened:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), timeout=2)
