"""Leaderboards: PostgreSQL records, Redis sorted sets serving the ranks."""

from __future__ import annotations

__all__: list[str] = []
