"""Metrics of the matchmaker.

- ``gamebackend_matchmaking_tickets_total{outcome, mode, version}``: created, matched,
  cancelled, expired
- ``gamebackend_matchmaking_matches_total{mode, region, version}``
- ``gamebackend_matchmaking_wait_seconds{mode, version}``: from ticket to match
- ``gamebackend_matchmaking_conflicts_total{version}``: proposed groups another matchmaker (or a
  cancellation) got to first
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

__all__ = ["CONFLICTS", "MATCHES", "TICKETS", "WAIT"]

TICKETS = Counter(
    "gamebackend_matchmaking_tickets_total",
    "Matchmaking tickets by outcome (created, matched, cancelled, expired)",
    ["outcome", "mode", "version"],
)
MATCHES = Counter(
    "gamebackend_matchmaking_matches_total", "Matches formed", ["mode", "region", "version"]
)
WAIT = Histogram(
    "gamebackend_matchmaking_wait_seconds",
    "Seconds from a ticket's creation to its match",
    ["mode", "version"],
    buckets=(0.5, 1, 2, 3, 5, 8, 12, 20, 30, 60, 120),
)
CONFLICTS = Counter(
    "gamebackend_matchmaking_conflicts_total",
    "Proposed matches not formed because a ticket was no longer searching",
    ["version"],
)
