"""Fixtures for the realtime and matchmaking tests: real ``gamebackend serve`` processes on
ephemeral ports, sharing one embedded PostgreSQL and Redis (started through the
``tests/_servers.py`` plugin's fixtures, which stop them), and WebSocket/HTTP helpers.

The two session gateways (``gateways``) both run a matchmaker. The test rules below make
matchmaking fast; tests keep to their own MMR band (``band`` fixture) so their tickets never meet
another test's.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
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


Backend = Any  # the plugin's Backend (one ``gamebackend serve``): shared through fixtures
Processes = Any  # the plugin's Processes


@pytest.fixture(scope="session")
def embedded(embedded_servers: Callable[[str], EmbeddedServers]) -> EmbeddedServers:
    return embedded_servers("rt-embedded")


@pytest.fixture(scope="session")
def backend_env(
    embedded: EmbeddedServers, gamebackend_env: Callable[..., dict[str, str]]
) -> dict[str, str]:
    return gamebackend_env(
        embedded, **TEST_RULES, GAMEBACKEND_ADMIN_KEY=ADMIN_KEY, GAMEBACKEND_SECRET=SECRET,
        GAMEBACKEND_VERSION="rt-test",
    )  # fmt: skip


Launch = Callable[..., Backend]


@pytest.fixture(scope="session")
def gateways(backend_env: dict[str, str], session_processes: Processes) -> tuple[Backend, Backend]:
    """Two gateway processes (each also a matchmaker) for the whole session."""
    return session_processes.backend(backend_env), session_processes.backend(backend_env)


@pytest.fixture
def launch(backend_env: dict[str, str], processes: Processes) -> Launch:
    """``launch(**env)``: one more backend process, stopped (or killed) at the end of the test."""
    return lambda **overrides: processes.backend({**backend_env, **overrides})


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
