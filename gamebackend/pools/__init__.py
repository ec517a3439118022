"""Jackpot pools: the hot-row case, as sharded counters."""

from __future__ import annotations

__all__: list[str] = []
