"""What a load run measured: HTTP requests by status, action and route class, and latency."""

from __future__ import annotations

from collections import Counter
from typing import Any

from canaryctl.metrics.routes import route_class

__all__ = ["HttpStats", "quantile"]


def quantile(sorted_values: list[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 3)


class HttpStats:
    """Every answered (or failed) request; an ``expected`` non-2xx answer (a cancel that lost
    its race to a match) is counted by status but is not an error."""

    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.by_status: Counter[str] = Counter()
        self.expected: Counter[str] = Counter()
        self.by_action: Counter[str] = Counter()
        self.by_class: Counter[str] = Counter()
        self.errors = 0
        self.server_errors = 0

    def record(
        self, action: str, path: str, status: int | None, latency: float, expected: bool = False
    ) -> None:
        self.latencies.append(latency)
        self.by_action[action] += 1
        self.by_class[route_class(path)] += 1
        label = str(status) if status is not None else "transport"
        self.by_status[label] += 1
        if expected:
            self.expected[label] += 1
            return
        if status is None or status >= 400:
            self.errors += 1
        if status is None or status >= 500:
            self.server_errors += 1

    def summary(self) -> dict[str, Any]:
        lat = sorted(self.latencies)
        ms = {f"p{int(q * 100)}": _ms(quantile(lat, q)) for q in (0.5, 0.95, 0.99)}
        ms["max"] = _ms(lat[-1] if lat else None)
        unexpected = self.by_status - self.expected
        return {
            "completed": len(lat),
            "errors": self.errors,
            "server_errors": self.server_errors,
            "errors_by_status": {k: v for k, v in sorted(unexpected.items()) if k[0] != "2"},
            "status_counts": dict(sorted(self.by_status.items())),
            "by_action": dict(sorted(self.by_action.items())),
            "by_route_class": dict(sorted(self.by_class.items())),
            "latency_ms": ms,
        }
