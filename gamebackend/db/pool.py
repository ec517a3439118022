"""The one way the API reaches the database: a connection pool plus the retry policy.

Each write is one call to a PL/pgSQL function (migrations/0002_functions.sql): one round trip,
its own transaction. Retrying a write is always safe because every write carries an idempotency
key (or submission id): a retried call that had in fact committed replays its stored response.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Any

import asyncpg
import orjson

from gamebackend.db.connections import ConnectionPool
from gamebackend.errors import ApiError
from gamebackend.observability import DB_RETRIES

__all__ = ["Database", "WriteResult", "connect"]

_ATTEMPTS = 4
# Lost connections (a PostgreSQL restart, a killed backend) and transient conflicts.
_TRANSIENT = (
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    ConnectionError,
)


@dataclass(frozen=True)
class WriteResult:
    """What a write function answered: outcome (applied | replayed | mismatch), the JSON
    response as PostgreSQL rendered it, and the rows the Redis projections need."""

    outcome: str
    response: str
    proj: list[Any] | None


class Database:
    """A pool of connections plus the retry policy; the repositories' only way in."""

    def __init__(self, pool: ConnectionPool, version: str) -> None:
        self.pool = pool
        self._version = version

    async def close(self) -> None:
        await asyncio.wait_for(self.pool.close(), timeout=5)

    async def write(self, sql: str, *args: Any) -> WriteResult:
        """Run one write function; map its refusals to ApiError; retry what is transient."""
        row = await self._with_retries("fetchrow", sql, *args)
        assert row is not None
        proj = orjson.loads(row[2]) if row[2] is not None else None
        return WriteResult(outcome=row[0], response=row[1], proj=proj)

    async def fetch(self, sql: str, *args: Any) -> list[asyncpg.Record]:
        return await self._with_retries("fetch", sql, *args)

    async def fetchrow(self, sql: str, *args: Any) -> asyncpg.Record | None:
        return await self._with_retries("fetchrow", sql, *args)

    async def fetchval(self, sql: str, *args: Any, retry: bool = True) -> Any:
        """``retry=False`` for the rare statement that is not idempotent (creating a player)."""
        attempts = _ATTEMPTS if retry else 1
        return await self._with_retries("fetchval", sql, *args, attempts=attempts)

    async def _with_retries(
        self, method: str, sql: str, *args: Any, attempts: int = _ATTEMPTS
    ) -> Any:
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                return await self.pool.run(method, sql, *args)
            except asyncpg.PostgresError as exc:
                reason = _retry_reason(exc)
                if reason is None or last:
                    refusal = _refusal(exc)
                    if refusal is exc:
                        raise
                    raise refusal from exc
            except _TRANSIENT as exc:
                reason = "connection"
                if last:
                    raise ApiError(503, "database_unavailable", "database unavailable") from exc
            DB_RETRIES.labels(reason, self._version).inc()
            # The replay path needs no wait; conflicts and reconnects get a little jitter.
            if reason != "idempotency_race":
                await asyncio.sleep(random.uniform(0.002, 0.02) * (attempt + 1))
        raise AssertionError("unreachable")


def _retry_reason(exc: asyncpg.PostgresError) -> str | None:
    code = getattr(exc, "sqlstate", None)
    if code == "GB423":
        return "idempotency_race"
    if code in ("40001", "40P01"):
        return "conflict"
    if isinstance(exc, _TRANSIENT):
        return "connection"
    return None


def _refusal(exc: asyncpg.PostgresError) -> Exception:
    code = getattr(exc, "sqlstate", None)
    message = getattr(exc, "message", str(exc))
    if code == "GB409":
        return ApiError(409, message, message.replace("_", " "))
    if code in ("GB422", "23503"):
        return ApiError(422, "unknown_player", "the request names a player that does not exist")
    if code == "22003":
        return ApiError(422, "invalid_body", "amount out of range")
    return exc


async def connect(dsn: str, size: int, version: str) -> Database:
    """Open the pool (one connection now, so a bad DSN fails at start, the rest on demand).
    Statements are prepared and cached per connection by asyncpg."""
    pool = ConnectionPool(
        dsn,
        size,
        server_settings={
            "application_name": f"gamebackend {version}"[:63],
            # The server bounds statements: no client-side timer per call.
            "statement_timeout": "30s",
            "lock_timeout": "10s",
        },
    )
    pool.release(await pool.acquire())
    return Database(pool, version)
