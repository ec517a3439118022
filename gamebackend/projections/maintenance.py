"""Background upkeep of one API process: heartbeat, projection repair, ledger drift gauge.

A process that dies between a commit and its projection write leaves that entry stale. Every
process heartbeats in ``api_instances``; a row whose heartbeat is older than three intervals
(and at least 10 s) belongs to a dead process, and whoever notices deletes it and invalidates
the projections.
A clean shutdown deletes its own row (unless its own repair is still pending, in which case
the row is left for a survivor to act on).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid

from gamebackend.db import Database
from gamebackend.observability import LEDGER_DRIFT
from gamebackend.projections.store import Projections

__all__ = ["Maintenance"]

log = logging.getLogger("gamebackend.maintenance")
_TICK = 0.5
# A busy machine can stall a healthy process for seconds; do not call it dead too soon.
_DEAD_AFTER_MIN = 10.0

_DRIFT_SQL = """SELECT abs((SELECT coalesce(sum(balance), 0) FROM wallets)
                         - (SELECT coalesce(sum(amount), 0) FROM ledger))"""


class Maintenance:
    """Runs in every API process until ``stop()``."""

    def __init__(
        self, db: Database, projections: Projections, version: str,
        heartbeat: float, drift_interval: float,
    ) -> None:  # fmt: skip
        self.db = db
        self.projections = projections
        self.version = version
        self.heartbeat = heartbeat
        self.drift_interval = drift_interval
        self.instance_id = str(uuid.uuid4())
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._register()
        self._task = asyncio.create_task(self._run(), name="gamebackend-maintenance")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self.projections.healthy:
            with contextlib.suppress(Exception):
                await self.db.fetchval(
                    "DELETE FROM api_instances WHERE instance_id = $1", self.instance_id
                )

    async def _run(self) -> None:
        next_beat = next_drift = time.monotonic()
        while True:
            now = time.monotonic()
            try:
                await self.projections.repair()
                if now >= next_beat:
                    next_beat = now + self.heartbeat
                    await self._beat()
                if self.drift_interval > 0 and now >= next_drift:
                    next_drift = now + self.drift_interval
                    drift = await self.db.fetchval(_DRIFT_SQL)
                    LEDGER_DRIFT.labels(self.version).set(float(drift))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the loop must outlive database hiccups
                log.warning("maintenance: %s: %s", type(exc).__name__, exc)
            await asyncio.sleep(_TICK)

    async def _register(self) -> None:
        await self.db.fetchval(
            "INSERT INTO api_instances (instance_id, pid, host, version) VALUES ($1, $2, $3, $4)"
            " ON CONFLICT (instance_id) DO UPDATE SET heartbeat = now()",
            self.instance_id, os.getpid(), socket.gethostname(), self.version,
        )  # fmt: skip

    async def _beat(self) -> None:
        alive = await self.db.fetchval(
            "UPDATE api_instances SET heartbeat = now() WHERE instance_id = $1 RETURNING 1",
            self.instance_id,
        )
        if alive is None:  # we stalled long enough for someone to think us dead: fine, re-join
            await self._register()
        dead = await self.db.fetch(
            "DELETE FROM api_instances WHERE heartbeat < now() - make_interval(secs => $1)"
            " RETURNING instance_id, pid, host, version",
            max(self.heartbeat * 3, _DEAD_AFTER_MIN),
        )
        if dead:
            who = ", ".join(f"{r['host']}:{r['pid']} ({r['version']})" for r in dead)
            log.warning("API process(es) %s stopped heartbeating; invalidating projections", who)
            await self.projections.invalidate()
