"""Event-sourced inventory and the store."""

from __future__ import annotations

__all__: list[str] = []
