"""The Prometheus metric source: the router's counters as scraped by a Prometheus server.

For a window ``[start, end)`` it asks, through ``prometheus-api-client``'s ``custom_query``,
for the raw samples of the request, error and histogram-bucket counters of the target group —
the value at ``start`` (an instant query) and every sample in ``(start, end]`` (a range selector
evaluated at ``end``) — and adds up each series' increase itself, counting a counter reset as a
restart from zero.

Why not ``sum by (le) (increase(x[w]))``: Prometheus extrapolates ``increase()`` to the window
edges, so 1,000 requests in a 60 s window scraped every second read as about 1,017 — not the
counts the embedded source reports for the same traffic, and not integers. The samples give the
exact counts between the last scrape at or before ``start`` and the last one at or before ``end``.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from canaryctl.metrics.base import NoData, SourceCapabilities, Target, WindowStats

__all__ = ["PrometheusSource", "series_increase"]

PREFIX = "canaryctl_router_"
_NAMES = "requests_total|errors_total|request_duration_seconds_bucket"


def series_increase(baseline: float | None, samples: Iterable[float]) -> float:
    """Increase of one counter from ``baseline`` through ``samples``; a drop is a reset
    (the counter restarted from zero), so the value after it counts in full."""
    total = 0.0
    prev = baseline
    for value in samples:
        if prev is None:
            prev = value  # no value before the window: the first sample is the baseline
            continue
        total += value - prev if value >= prev else value
        prev = value
    return total


class PrometheusSource:
    """Window statistics from ``url``. Unreachable or empty → ``NoData`` with the reason."""

    name = "prometheus"

    def __init__(self, url: str, *, timeout: float = 5.0, selector: str = "") -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.selector = selector  # extra label matchers, e.g. 'job="sandbox"'
        self._client: Any = None

    @classmethod
    def capabilities(cls, config: Any) -> SourceCapabilities:
        # The router's series carry a route_class label.
        return SourceCapabilities(route_classes=True)

    @classmethod
    def from_config(
        cls, config: Any, *, service: str, base_dir: Path, platform: Any = None
    ) -> PrometheusSource:
        return cls(
            config.url,
            timeout=float(getattr(config, "timeout", 5.0)),
            selector=str(getattr(config, "selector", "") or ""),
        )

    def _prom(self) -> Any:
        if self._client is None:  # lazy: the client pulls in requests and dateparser
            from prometheus_api_client import PrometheusConnect
            from urllib3.util.retry import Retry

            self._client = PrometheusConnect(
                url=self.url, retry=Retry(total=1, backoff_factor=0.1), timeout=self.timeout
            )
        return self._client

    def _matchers(self, target: Target, route_class: str | None) -> str:
        parts = [f'__name__=~"{PREFIX}({_NAMES})"', f'target_group="{target}"']
        if route_class:
            parts.append(f'route_class="{route_class}"')
        if self.selector:
            parts.append(self.selector)
        return "{" + ",".join(parts) + "}"

    def window(
        self, target: Target, start: float, end: float, route_class: str | None = None
    ) -> WindowStats | NoData:
        sel = self._matchers(target, route_class)
        width = max(1, math.ceil(end - start))
        try:
            before = self._prom().custom_query(sel, params={"time": repr(start)})
            during = self._prom().custom_query(f"{sel}[{width}s]", params={"time": repr(end)})
        except Exception as exc:  # requests' and the client's errors: the policy decides
            reason = f"prometheus {self.url} unreachable: {type(exc).__name__}: {exc}"
            return NoData(reason[:500], target, route_class)
        totals = _increases(before, during, start)
        what = f"{target}" + (f"/{route_class}" if route_class else "")
        if not totals:
            return NoData(f"prometheus has no router series for {what}", target, route_class)
        requests = round(totals.get(("requests_total", ""), 0.0))
        if requests == 0:
            reason = f"no requests recorded for {what} in [{start:.0f}, {end:.0f})"
            return NoData(reason, target, route_class)
        errors = round(totals.get(("errors_total", ""), 0.0))
        buckets = sorted(
            (math.inf if le == "+Inf" else float(le), round(v))
            for (name, le), v in totals.items()
            if name == "request_duration_seconds_bucket"
        )
        return WindowStats(
            requests=requests,
            errors=min(errors, requests),
            buckets=tuple(buckets),
            start=float(start),
            end=float(end),
        )

    def close(self) -> None:
        if self._client is not None:
            self._client._session.close()


def _increases(
    before: list[dict[str, Any]], during: list[dict[str, Any]], start: float
) -> dict[tuple[str, str], float]:
    """Sum of each series' increase, grouped by (metric name without prefix, le)."""

    def key(metric: dict[str, str]) -> tuple[tuple[str, str], ...]:
        return tuple(sorted(metric.items()))

    base = {key(s["metric"]): float(s["value"][1]) for s in before}
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for series in during:
        metric = series["metric"]
        samples = [float(v) for t, v in series["values"] if float(t) > start]
        inc = series_increase(base.get(key(metric)), samples)
        name = metric["__name__"].removeprefix(PREFIX)
        totals[(name, metric.get("le", ""))] += inc
    return dict(totals)
