"""The measured stable and canary values of every analysis interval, kept in the record for
the job summary's chart (``record["timeline"]``).

Verdicts alone cannot draw "canary vs stable p95 and error rate over the window": they exist
only for the SLOs a policy has (a policy may judge p99 of one route class and no overall
p95), and sequential judges measure cumulative windows. So the deployment's metric source is
wrapped: ``TimelineSource`` passes every query through and, for each analysis check, keeps
one point per interval with both targets' request and error counts and p95 over all route
classes. It uses the engine's own answer when the engine asked for exactly that window;
otherwise it asks the source once more for it (one extra query per target and check).

A point: ``{"t": end of the interval (epoch s), "from": its start, "step": step index,
"weight": canary %, "stable": {"requests", "errors", "p95"} | {"no_data": reason},
"canary": {…}}``.
"""

from __future__ import annotations

import math
from typing import Any

from canaryctl.errors import CanaryError
from canaryctl.metrics.base import MetricSource, NoData, Target, WindowStats

__all__ = ["MAX_POINTS", "TimelineSource", "measured"]

# A 30-minute analysis checked every 10 s is 180 points; the cap bounds the record's size
# (it is written at every check) for very long or very many analysis steps.
MAX_POINTS = 1000
QUANTILE = 0.95


def measured(stats: WindowStats | NoData) -> dict[str, Any]:
    """A point's values for one target."""
    if isinstance(stats, NoData):
        return {"no_data": stats.reason}
    p95 = stats.quantile(QUANTILE)
    return {"requests": stats.requests, "errors": stats.errors, "p95": p95}


class TimelineSource:
    """A MetricSource that records the analysis timeline into ``record`` as it is queried.

    Other attributes (``anchor``, ``clock``, …) are the wrapped source's."""

    def __init__(self, inner: MetricSource, record: dict[str, Any]) -> None:
        self.inner = inner
        self.record = record
        self.name = getattr(inner, "name", "metrics")

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)

    def window(
        self, target: Target, start: float, end: float, route_class: str | None = None
    ) -> WindowStats | NoData:
        result = self.inner.window(target, start, end, route_class)
        self._observe(Target(target), start, end, route_class, result)
        return result

    def close(self) -> None:
        self.inner.close()

    def _observe(
        self,
        target: Target,
        start: float,
        end: float,
        route_class: str | None,
        result: WindowStats | NoData,
    ) -> None:
        window = self.record.get("analysis")
        if not window or self.record.get("phase") != "analyzing":
            return
        timeline: list[dict[str, Any]] = self.record.setdefault("timeline", [])
        point = self._point(timeline, float(window["start"]), end)
        if target.value in point:
            return  # this interval is recorded already (e.g. the final whole-window check)
        lo = float(point["from"])
        if route_class is None and math.isclose(start, lo, abs_tol=1e-6):
            point[target.value] = measured(result)
        else:
            point[target.value] = measured(self._fetch(target, lo, end))

    def _point(
        self, timeline: list[dict[str, Any]], step_start: float, end: float
    ) -> dict[str, Any]:
        """The point of the interval ending at ``end``, appended if new. An interval begins
        where the step's previous one ended (a resumed step starts afresh at its start)."""
        last = timeline[-1] if timeline else None
        if last is not None and last["t"] == end:
            return last
        step = self.record.get("step_index")
        lo = step_start
        if last is not None and last.get("step") == step and last["t"] < end:
            lo = max(lo, float(last["t"]))
        weight = (self.record.get("weights") or {}).get("canary")
        point: dict[str, Any] = {"t": end, "from": lo, "step": step, "weight": weight}
        timeline.append(point)
        del timeline[:-MAX_POINTS]
        return point

    def _fetch(self, target: Target, start: float, end: float) -> WindowStats | NoData:
        try:
            return self.inner.window(target, start, end, None)
        except CanaryError as exc:  # the chart must never decide a deployment
            return NoData(str(exc), target)
