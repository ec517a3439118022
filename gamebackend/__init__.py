"""The reference gaming backend that canaryctl deploys: wallet ledger, jackpot pools,
event-sourced inventory and leaderboards on PostgreSQL (truth) and Redis (projections).

Run it with ``gamebackend serve``; see docs/backend.md.
"""

from __future__ import annotations

from importlib import metadata

__all__ = ["__version__"]

try:
    __version__ = metadata.version("canaryctl")
except metadata.PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"
