"""The MetricSource seam: window statistics of a target over a time range.

A source answers with counts, never with pre-computed averages, so that every judge (quantile
from the histogram, error rate, sequential tests on counts, distribution tests) works from the
same data. A source with no data answers ``NoData`` with a reason; it never answers zeros.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

__all__ = [
    "MetricSource",
    "NoData",
    "SourceCapabilities",
    "SourceClass",
    "Target",
    "WindowStats",
    "cumulative_at",
]


class Target(StrEnum):
    STABLE = "stable"
    CANARY = "canary"


@dataclass(frozen=True)
class WindowStats:
    """Counts observed for one target (and optionally one route class) in ``[start, end)``.

    ``buckets`` are Prometheus-style cumulative histogram buckets: ``(upper_bound_seconds,
    count_of_requests_with_latency <= upper_bound)``, sorted by bound, the last bound is
    ``math.inf`` and its count equals ``requests``.
    """

    requests: int
    errors: int
    buckets: tuple[tuple[float, int], ...]
    start: float = 0.0
    end: float = 0.0

    def __post_init__(self) -> None:
        if self.requests < 0 or self.errors < 0 or self.errors > self.requests:
            raise ValueError(f"bad counts: requests={self.requests} errors={self.errors}")
        if self.buckets and not math.isinf(self.buckets[-1][0]):
            raise ValueError("the last histogram bucket must be +Inf")

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    def quantile(self, q: float) -> float | None:
        """The q-quantile of latency in seconds, interpolated as Prometheus'
        ``histogram_quantile`` does (linear within the bucket; the highest finite bound when
        the quantile falls in +Inf). None when there are no requests."""
        if not self.buckets or self.requests == 0:
            return None
        rank = q * self.requests
        prev_bound, prev_count = 0.0, 0
        for bound, count in self.buckets:
            if count >= rank:
                if math.isinf(bound):
                    return prev_bound
                if count == prev_count:
                    return bound
                return prev_bound + (bound - prev_bound) * (rank - prev_count) / (
                    count - prev_count
                )
            prev_bound, prev_count = bound, count
        return prev_bound

    def slower_than(self, threshold_s: float) -> int:
        """Number of requests slower than ``threshold_s``. Exact when the threshold is a bucket
        bound; otherwise interpolated linearly within its bucket."""
        return self.requests - cumulative_at(self.buckets, threshold_s)

    def __add__(self, other: WindowStats) -> WindowStats:
        if (
            self.buckets
            and other.buckets
            and [b for b, _ in self.buckets] != [b for b, _ in other.buckets]
        ):
            raise ValueError("cannot add windows with different bucket bounds")
        buckets = self.buckets or other.buckets
        if self.buckets and other.buckets:
            buckets = tuple(
                (b, c1 + c2) for (b, c1), (_, c2) in zip(self.buckets, other.buckets, strict=True)
            )
        return WindowStats(
            requests=self.requests + other.requests,
            errors=self.errors + other.errors,
            buckets=buckets,
            start=min(self.start, other.start)
            if self.start and other.start
            else self.start or other.start,
            end=max(self.end, other.end),
        )

    @classmethod
    def from_latencies(
        cls,
        latencies_s: Iterable[float],
        errors: int,
        bounds: Sequence[float],
        start: float = 0.0,
        end: float = 0.0,
    ) -> WindowStats:
        """Build a window from raw latencies (tests, simulators)."""
        values = sorted(latencies_s)
        counts: list[tuple[float, int]] = []
        i = 0
        for b in [*bounds, math.inf]:
            while i < len(values) and values[i] <= b:
                i += 1
            counts.append((b, i))
        return cls(requests=len(values), errors=errors, buckets=tuple(counts), start=start, end=end)

    def to_dict(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "errors": self.errors,
            "buckets": {("+Inf" if math.isinf(b) else repr(b)): c for b, c in self.buckets},
            "start": self.start,
            "end": self.end,
        }


def cumulative_at(buckets: Sequence[tuple[float, int]], x: float) -> int:
    """Cumulative count at latency ``x`` (interpolated inside a bucket, rounded down)."""
    prev_bound, prev_count = 0.0, 0
    for bound, count in buckets:
        if x < bound:
            if math.isinf(bound):
                return prev_count
            frac = (x - prev_bound) / (bound - prev_bound)
            return prev_count + math.floor((count - prev_count) * frac)
        if x == bound:
            return count
        prev_bound, prev_count = bound, count
    return prev_count


@dataclass(frozen=True)
class NoData:
    """The source has no data for this query; ``reason`` says why (unreachable, no series, …)."""

    reason: str
    target: Target | None = None
    route_class: str | None = None
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SourceCapabilities:
    """What a source can answer, known from its config alone (before any network call), so a
    pipeline that asks for the impossible is refused at validation instead of at run time.

    ``route_classes``: it can answer ``window(..., route_class=X)``; a source that cannot
    (CloudWatch's ALB metrics are per target group) must not be paired with a required
    route-class SLO. ``publication_delay_s``: how long after a moment its data for that moment
    is complete (0 for sources read directly).
    """

    route_classes: bool
    publication_delay_s: float = 0.0


class SourceClass(Protocol):
    """A metric source's class, as the registry (``canaryctl.metrics.SOURCES``) holds it: it
    declares what its instances can answer from the config alone, and builds them."""

    def capabilities(self, config: Any) -> SourceCapabilities:
        """What a source built from ``config`` (its validated metrics model) can answer."""
        ...

    def from_config(
        self, config: Any, *, service: str, base_dir: Any, platform: Any = None
    ) -> MetricSource: ...


class MetricSource(Protocol):
    """Returns window statistics for a target over ``[start, end)`` (epoch seconds).

    ``route_class=None`` means all route classes together. Sources must not raise for
    "no data" (return ``NoData``); they raise ``MetricsError`` only when asked something they
    cannot answer at all, and should prefer ``NoData(reason=...)`` when unreachable so that the
    policy's missing-data rule decides.
    """

    name: str

    def window(
        self, target: Target, start: float, end: float, route_class: str | None = None
    ) -> WindowStats | NoData: ...

    def close(self) -> None: ...
