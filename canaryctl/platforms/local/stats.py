"""The router's traffic statistics: cumulative counters for Prometheus and a per-second ring.

Every finished request is recorded once, at the second it finished, under its target group
("stable"/"canary") and route class. The cumulative counters are what ``GET /metrics`` exports;
the ring keeps the same counts per second for the last ``retention_s`` seconds so that the
embedded metric source can ask for any ``[start, end)`` window statelessly: a deploy that was
killed and resumed still sees the history, because the history lives in the router.
"""

from __future__ import annotations

import math
import time
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from canaryctl.metrics.routes import LATENCY_BUCKETS, ROUTE_CLASSES

__all__ = ["GROUPS", "RouterStats", "WindowCounts"]

GROUPS: tuple[str, ...] = ("stable", "canary")

_NB = len(LATENCY_BUCKETS) + 1  # per-bucket (not cumulative) counts; the last one is +Inf
# Cell layout (a plain list for speed on the hot path): [requests, errors, bucket_0 .. +Inf]
_REQ, _ERR, _B0 = 0, 1, 2
_CELL = 2 + _NB

Key = tuple[str, str]


def _new_cell() -> list[int]:
    return [0] * _CELL


@dataclass(frozen=True)
class WindowCounts:
    """Counts of one target group (optionally one route class) over whole seconds."""

    requests: int
    errors: int
    buckets: tuple[tuple[float, int], ...]  # cumulative, last bound +Inf
    start: int
    end: int
    seconds_with_traffic: int

    def to_json(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "buckets": [["+Inf" if math.isinf(b) else b, c] for b, c in self.buckets],
            "start": self.start,
            "end": self.end,
            "seconds_with_traffic": self.seconds_with_traffic,
        }


class RouterStats:
    """Counters per (target group, route class): cumulative and per second.

    ``clock`` returns epoch seconds (injectable for tests). Not thread-safe: the router records
    from its event loop only.
    """

    def __init__(self, retention_s: int = 7200, clock: Callable[[], float] = time.time) -> None:
        self.retention_s = retention_s
        self._clock = clock
        # Every label set exists from the start at zero, so Prometheus sees each series before
        # its first increment (otherwise the first requests of a series are invisible to it).
        self._total: dict[Key, list[int]] = {
            (g, rc): _new_cell() for g in GROUPS for rc in ROUTE_CLASSES
        }
        self._sum: dict[Key, float] = dict.fromkeys(self._total, 0.0)
        self._ring: deque[tuple[int, dict[Key, list[int]]]] = deque()
        self._sec = int(clock())
        self._cur: dict[Key, list[int]] = {}
        self.started_at = self._sec

    def record(self, group: str, route_class: str, latency_s: float, error: bool) -> None:
        """Count one finished request (called on the router's hot path)."""
        sec = int(self._clock())
        if sec != self._sec:
            self._rotate(sec)
        key = (group, route_class)
        idx = _B0 + bisect_left(LATENCY_BUCKETS, latency_s)
        cell = self._cur.get(key)
        if cell is None:
            cell = self._cur[key] = _new_cell()
        cell[_REQ] += 1
        cell[idx] += 1
        total = self._total.get(key)
        if total is None:
            total = self._total[key] = _new_cell()
            self._sum[key] = 0.0
        total[_REQ] += 1
        total[idx] += 1
        self._sum[key] += latency_s
        if error:
            cell[_ERR] += 1
            total[_ERR] += 1

    def _rotate(self, sec: int) -> None:
        if self._cur:
            self._ring.append((self._sec, self._cur))
            self._cur = {}
        self._sec = sec
        horizon = sec - self.retention_s
        while self._ring and self._ring[0][0] < horizon:
            self._ring.popleft()

    def retained_since(self) -> int:
        """The first second whose counts are still held (the router's start or the horizon)."""
        return max(self.started_at, int(self._clock()) - self.retention_s)

    def _seconds(self) -> Iterable[tuple[int, dict[Key, list[int]]]]:
        yield from self._ring
        if self._cur:
            yield self._sec, self._cur

    def window(
        self, group: str, start: float, end: float, route_class: str | None = None
    ) -> WindowCounts:
        """Counts of the seconds ``s`` with ``floor(start) <= s < floor(end)``.

        Whole seconds, so two adjacent windows ``[a, b)`` and ``[b, c)`` never count a request
        twice; the second in progress is only included when ``end`` lies beyond it.
        """
        lo, hi = math.floor(start), math.floor(end)
        acc = _new_cell()
        seen = 0
        for sec, cells in self._seconds():
            if sec < lo or sec >= hi:
                continue
            hit = False
            for (g, rc), cell in cells.items():
                if g != group or (route_class is not None and rc != route_class):
                    continue
                hit = True
                for i in range(_CELL):
                    acc[i] += cell[i]
            seen += hit
        return WindowCounts(
            requests=acc[_REQ],
            errors=acc[_ERR],
            buckets=_cumulative(acc),
            start=lo,
            end=hi,
            seconds_with_traffic=seen,
        )

    def prometheus_text(self, extra: Iterable[str] = ()) -> str:
        """The cumulative counters in the Prometheus text exposition format (0.0.4)."""
        lines = [
            "# HELP canaryctl_router_requests_total Requests proxied by the router.",
            "# TYPE canaryctl_router_requests_total counter",
        ]
        keys = sorted(self._total)
        for key in keys:
            lines.append(
                f"canaryctl_router_requests_total{{{_labels(key)}}} {self._total[key][_REQ]}"
            )
        lines += [
            "# HELP canaryctl_router_errors_total 5xx answers and failed upstream connections.",
            "# TYPE canaryctl_router_errors_total counter",
        ]
        for key in keys:
            lines.append(
                f"canaryctl_router_errors_total{{{_labels(key)}}} {self._total[key][_ERR]}"
            )
        name = "canaryctl_router_request_duration_seconds"
        lines += [
            f"# HELP {name} Time from the full request to the last byte of the answer.",
            f"# TYPE {name} histogram",
        ]
        for key in keys:
            labels = _labels(key)
            for bound, count in _cumulative(self._total[key]):
                le = "+Inf" if math.isinf(bound) else repr(bound)
                lines.append(f'{name}_bucket{{{labels},le="{le}"}} {count}')
            lines.append(f"{name}_sum{{{labels}}} {self._sum[key]!r}")
            lines.append(f"{name}_count{{{labels}}} {self._total[key][_REQ]}")
        lines.extend(extra)
        return "\n".join(lines) + "\n"


def _labels(key: Key) -> str:
    return f'target_group="{key[0]}",route_class="{key[1]}"'


def _cumulative(cell: list[int]) -> tuple[tuple[float, int], ...]:
    out: list[tuple[float, int]] = []
    running = 0
    for i, bound in enumerate((*LATENCY_BUCKETS, math.inf)):
        running += cell[_B0 + i]
        out.append((bound, running))
    return tuple(out)
