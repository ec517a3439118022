"""Metrics of the realtime gateway and the event bus (Prometheus, same registry as the API).

- ``gamebackend_ws_connections{version}``: open WebSocket connections (summed over workers)
- ``gamebackend_ws_messages_total{direction, type, version}``: messages in (from clients) and out
  (answers and pushes), by envelope type
- ``gamebackend_ws_slow_consumer_closes_total{version}``: connections closed with 1013 because
  their send queue was full
- ``gamebackend_ws_rejected_total{reason, version}``: connections refused (4401: bad token)
- ``gamebackend_ws_fanout_seconds{version}``: from an event's publication to its last local
  write, per process (what a subscriber waits, minus the network)
- ``gamebackend_events_total{outcome, version}``: events published, or dropped when Redis is away
  or the outgoing buffer is full
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

__all__ = [
    "EVENTS",
    "FANOUT_BUCKETS",
    "WS_CONNECTIONS",
    "WS_FANOUT",
    "WS_MESSAGES",
    "WS_REJECTED",
    "WS_SLOW_CLOSES",
]

FANOUT_BUCKETS: tuple[float, ...] = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
)  # fmt: skip

WS_CONNECTIONS = Gauge(
    "gamebackend_ws_connections",
    "Open WebSocket connections",
    ["version"],
    multiprocess_mode="livesum",
)
WS_MESSAGES = Counter(
    "gamebackend_ws_messages_total",
    "WebSocket messages by direction (in, out) and envelope type",
    ["direction", "type", "version"],
)
WS_SLOW_CLOSES = Counter(
    "gamebackend_ws_slow_consumer_closes_total",
    "Connections closed with 1013 because the client did not drain its send queue",
    ["version"],
)
WS_REJECTED = Counter(
    "gamebackend_ws_rejected_total", "WebSocket connections refused", ["reason", "version"]
)
WS_FANOUT = Histogram(
    "gamebackend_ws_fanout_seconds",
    "Seconds from an event's publication to its last write to a local subscriber",
    ["version"],
    buckets=FANOUT_BUCKETS,
)
EVENTS = Counter(
    "gamebackend_events_total",
    "Realtime events by outcome (published, dropped)",
    ["outcome", "version"],
)
