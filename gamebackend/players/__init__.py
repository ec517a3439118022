"""Players: registration (which issues the bearer token) and profiles."""

from __future__ import annotations

__all__: list[str] = []
