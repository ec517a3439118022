"""Schema migrations: the numbered SQL files in gamebackend/migrations, applied in order, once.

Several processes may start at once (workers, a canary next to the stable version); a
PostgreSQL advisory lock makes them take turns, and the ones that come second find nothing left
to do.
"""

from __future__ import annotations

from importlib import resources

import asyncpg

__all__ = ["MIGRATION_LOCK", "migrate", "migration_files"]

# An arbitrary constant shared by every gamebackend process ("gb" + "mig").
MIGRATION_LOCK = 0x67626D6967


def migration_files() -> list[tuple[str, str]]:
    """(version, sql) for every migration, in order."""
    folder = resources.files("gamebackend") / "migrations"
    names = sorted(p.name for p in folder.iterdir() if p.name.endswith(".sql"))
    return [(name.removesuffix(".sql"), (folder / name).read_text()) for name in names]


async def migrate(dsn: str) -> list[str]:
    """Apply the missing migrations; return the versions applied now."""
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK)
        try:
            # Inside the lock: concurrent CREATE TABLE IF NOT EXISTS can still collide.
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            return await _apply_missing(conn)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK)
    finally:
        await conn.close()


async def _apply_missing(conn: asyncpg.Connection) -> list[str]:
    done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
    applied = []
    for version, sql in migration_files():
        if version in done:
            continue
        async with conn.transaction():
            await conn.execute(sql)
            await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
        applied.append(version)
    return applied
