"""Route classes and latency buckets shared by the router, the backend's labels and policies."""

from __future__ import annotations

__all__ = ["LATENCY_BUCKETS", "ROUTE_CLASSES", "route_class"]

# Fine enough to read p95 between 5 ms and 2.5 s; the +Inf bucket is implicit.
LATENCY_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0, 1.5, 2.5,
    5.0, 10.0,
)  # fmt: skip

_PREFIXES: tuple[tuple[str, str], ...] = (
    ("/v1/wallet", "wallet"),
    ("/v1/pools", "pools"),
    ("/v1/inventory", "inventory"),
    ("/v1/store", "inventory"),
    ("/v1/leaderboards", "leaderboard"),
    ("/v1/players", "players"),
    ("/v1/matchmaking", "matchmaking"),
    ("/v1/ws", "realtime"),
)

ROUTE_CLASSES: tuple[str, ...] = (
    "wallet", "pools", "inventory", "leaderboard", "players", "matchmaking", "realtime", "ops",
)  # fmt: skip


def route_class(path: str) -> str:
    """The route class of a request path; ``ops`` for anything unclassified."""
    for prefix, name in _PREFIXES:
        if path == prefix or path.startswith(prefix + "/") or path.startswith(prefix + "?"):
            return name
    return "ops"
