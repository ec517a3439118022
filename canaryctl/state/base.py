"""The StateStore seam: deployment records (plain JSON dicts) and the per-service lock.

Records are written before each side effect (write-ahead), so the store must make a save
durable before returning (fsync locally, a completed PUT on S3).
"""

from __future__ import annotations

from typing import Any, Protocol

__all__ = ["StateStore"]


class StateStore(Protocol):
    def save(self, record: dict[str, Any]) -> None:
        """Durably write a record (``record["id"]`` is its key)."""
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
