"""PostgreSQL access: the connection pool with retries, migrations and invariant checks."""

from __future__ import annotations

from gamebackend.db.pool import Database, WriteResult, connect

__all__ = ["Database", "WriteResult", "connect"]
