"""Retention of idempotency keys: rows older than the retention are deleted in bounded batches.

A stored key only matters while a client may still retry its request; after the retention
(``GAMEBACKEND_IDEMPOTENCY_RETENTION``, 24 h by default) the same key is a new request. Every
API process prunes in the background (``IdempotencyPruner``) and ``gamebackend prune`` does one
full pass. Each batch is one short statement of its own: it locks at most ``batch`` rows, never
a wallet, and skips rows another pruner holds, so pruners in several processes share the work
and writes never wait behind a long delete. The write functions are unchanged: still one call
per write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass

from gamebackend.db.pool import Database
from gamebackend.observability import IDEMPOTENCY_PRUNED

__all__ = ["IdempotencyPruner", "PruneResult", "prune_idempotency"]

log = logging.getLogger("gamebackend.retention")

# Oldest first, through the idempotency_by_age index (0003_idempotency_retention.sql).
_PRUNE_SQL = """
WITH doomed AS (
    SELECT scope, key FROM idempotency
     WHERE created_at < now() - make_interval(secs => $1)
     ORDER BY created_at
     LIMIT $2
       FOR UPDATE SKIP LOCKED),
gone AS (
    DELETE FROM idempotency i USING doomed d
     WHERE i.scope = d.scope AND i.key = d.key
    RETURNING 1)
SELECT count(*) FROM gone
"""
# A background pass stops after this many batches and, if rows remain, resumes after
# _BACKLOG_PAUSE: a large backlog (the first pass after an upgrade) is worked off in steps.
_BATCHES_PER_PASS = 100
_BACKLOG_PAUSE = 1.0
# Between batches: give request traffic the connection and the CPU.
_PAUSE = 0.01


@dataclass(frozen=True)
class PruneResult:
    """How many keys were deleted, in how many batches (statements); ``complete`` when the
    last batch came back short (nothing old was left)."""

    deleted: int
    batches: int
    complete: bool


async def prune_idempotency(
    db: Database, retention: float, batch: int, *, max_batches: int | None = None,
    version: str = "",
) -> PruneResult:  # fmt: skip
    """Delete keys older than ``retention`` seconds, ``batch`` rows per statement, until a batch
    comes back short (or after ``max_batches``)."""
    deleted = batches = 0
    while max_batches is None or batches < max_batches:
        if batches:
            await asyncio.sleep(_PAUSE)
        count = int(await db.fetchval(_PRUNE_SQL, float(retention), batch))
        batches += 1
        deleted += count
        IDEMPOTENCY_PRUNED.labels(version).inc(count)
        if count < batch:
            return PruneResult(deleted, batches, complete=True)
    return PruneResult(deleted, batches, complete=False)


class IdempotencyPruner:
    """Prunes every ``interval`` seconds until ``stop()`` (``interval`` 0: never)."""

    def __init__(
        self, db: Database, version: str, retention: float, interval: float, batch: int
    ) -> None:
        self.db = db
        self.version = version
        self.retention = retention
        self.interval = interval
        self.batch = batch
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.interval > 0:
            self._task = asyncio.create_task(self._run(), name="gamebackend-idempotency-prune")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        # A random first delay: workers and instances started together do not prune together.
        await asyncio.sleep(random.uniform(0, self.interval))
        while True:
            delay = self.interval
            try:
                result = await prune_idempotency(
                    self.db, self.retention, self.batch, max_batches=_BATCHES_PER_PASS,
                    version=self.version,
                )  # fmt: skip
                if result.deleted:
                    log.info("pruned %d idempotency keys past retention", result.deleted)
                if not result.complete:
                    delay = min(self.interval, _BACKLOG_PAUSE)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the loop must outlive database hiccups
                log.warning("idempotency prune: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(delay)
