"""Redis projections (balances, ranks) of the PostgreSQL truth, and their upkeep."""

from __future__ import annotations

from gamebackend.projections.maintenance import Maintenance
from gamebackend.projections.store import Arg, Command, Projections, connect_redis

__all__ = ["Arg", "Command", "Maintenance", "Projections", "connect_redis"]
