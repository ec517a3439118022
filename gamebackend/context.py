"""Everything a request needs, opened once per process in the app's lifespan."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from gamebackend.auth import Authenticator, TokenSigner
from gamebackend.catalogue import GameData, load_game_data
from gamebackend.db import Database, connect
from gamebackend.db.migrate import migrate
from gamebackend.db.retention import IdempotencyPruner
from gamebackend.projections import Maintenance, Projections
from gamebackend.settings import Settings

if TYPE_CHECKING:
    from gamebackend.realtime import Realtime

__all__ = ["AppContext", "stored_secret"]


async def stored_secret(db: Database, name: str, given: str | None) -> str:
    """``given`` if set; else the value stored in the database, generated on first use. Every
    process sharing the database then agrees on it."""
    if given:
        return given
    await db.fetchval(
        "INSERT INTO app_secrets (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING",
        name, secrets.token_urlsafe(32),
    )  # fmt: skip
    value = await db.fetchval("SELECT value FROM app_secrets WHERE name = $1", name)
    return str(value)


@dataclass
class AppContext:
    settings: Settings
    data: GameData
    db: Database
    projections: Projections
    maintenance: Maintenance
    signer: TokenSigner
    authenticate: Authenticator
    realtime: Realtime | None = None  # WebSocket gateway, events, matchmaker
    pruner: IdempotencyPruner | None = None  # deletes idempotency keys past their retention

    @classmethod
    async def open(cls, settings: Settings) -> AppContext:
        if not settings.database_url or not settings.redis_url:
            raise RuntimeError(
                "DATABASE_URL and REDIS_URL must be set (gamebackend serve sets them)"
            )
        data = load_game_data(settings.catalogue, settings.leaderboards)
        await migrate(settings.database_url)
        db = await connect(settings.database_url, settings.db_pool_size, settings.version)
        signer = TokenSigner(await stored_secret(db, "token_secret", settings.secret))
        admin_key = await stored_secret(db, "admin_key", settings.admin_key)
        projections = Projections(settings.redis_url, settings.version, settings.cache_ttl)
        await projections.start()
        maintenance = Maintenance(
            db, projections, settings.version, settings.heartbeat_interval, settings.drift_interval
        )
        await maintenance.start()
        ctx = cls(
            settings=settings, data=data, db=db, projections=projections, maintenance=maintenance,
            signer=signer, authenticate=Authenticator(signer, admin_key),
        )  # fmt: skip
        ctx.pruner = IdempotencyPruner(
            db, settings.version, settings.idempotency_retention,
            settings.idempotency_prune_interval, settings.idempotency_prune_batch,
        )  # fmt: skip
        ctx.pruner.start()
        from gamebackend.realtime import Realtime  # imported late: it imports the domains

        ctx.realtime = await Realtime.start(ctx)
        return ctx

    async def close(self) -> None:
        if self.realtime is not None:
            await self.realtime.stop()
        if self.pruner is not None:
            await self.pruner.stop()
        await self.maintenance.stop()
        await self.projections.close()
        await self.db.close()
