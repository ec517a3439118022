"""The StateStore seam: deployment records (plain JSON dicts) and the per-service lock.

Records are written before each side effect (write-ahead), so the store must make a save
durable before returning (fsync locally, a completed PUT on S3). Control requests from other
processes (``canaryctl abort/pause/promote/resume``) are posted separately and polled by the
running engine.
"""

from __future__ import annotations

import builtins
from typing import Any, Protocol

__all__ = ["StateStore"]


class StateStore(Protocol):
    def save(self, record: dict[str, Any]) -> None:
        """Durably write a record (``record["id"]`` is its key) if the store still holds the
        revision it was read at (``record["rev"]``; a record without one may only be created),
        and set ``record["rev"]`` to the new revision. ``RecordConflict`` (exit 5) when another
        process wrote it in between: a second writer is refused, never merged."""
        ...

    def load(self, deployment_id: str) -> dict[str, Any]:
        """The record, or ``DeploymentNotFound``."""
        ...

    def list(self, service: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        """Newest first."""
        ...

    def acquire(self, service: str, holder: str) -> None:
        """Take the per-service lock for deployment ``holder``; ``LockHeld`` if another has it.
        Re-acquiring by the same holder succeeds (resume)."""
        ...

    def release(self, service: str, holder: str) -> None:
        """Release the lock if ``holder`` has it; no-op otherwise."""
        ...

    def holder(self, service: str) -> str | None: ...

    def post_request(self, deployment_id: str, request: dict[str, Any]) -> None:
        """Durably add a control request (``{"id", "action", "at", "by"}``; action: abort,
        pause, promote, resume) for the deployment. Requests are kept apart from the record
        so a request from another process is never lost to the engine's next ``save``."""
        ...

    def requests(self, deployment_id: str) -> builtins.list[dict[str, Any]]:
        """Every control request posted for the deployment, oldest first."""
        ...
