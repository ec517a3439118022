"""Mermaid ``xychart-beta`` charts of canary vs stable over a deployment's analysis: p95
latency and error rate per interval, from the record's timeline (``report.timeline``).

xychart-beta has no legend, so the colours are fixed (stable green, canary red, the SLO bound
grey, in that order) and the caption under each chart names them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from canaryctl.config.units import format_duration

__all__ = ["MAX_COLUMNS", "Series", "charts", "mermaid", "series"]

# GitHub renders the chart at a fixed width: beyond about 60 columns the labels overlap.
MAX_COLUMNS = 60
PALETTE = "#2f855a, #c53030, #718096"


@dataclass(frozen=True)
class Series:
    """One chart: x labels and the stable, canary and bound values (in display units)."""

    title: str
    unit: str
    labels: list[str]
    stable: list[float]
    canary: list[float]
    bound: float | None
    bound_slo: str | None
    merged: int  # analysis intervals per column


def _merge_target(values: list[dict[str, Any]]) -> dict[str, Any]:
    seen = [v for v in values if "no_data" not in v]
    if not seen:
        return {"no_data": values[0]["no_data"] if values else "no data"}
    p95s = [v["p95"] for v in seen if v.get("p95") is not None]
    return {
        "requests": sum(v["requests"] for v in seen),
        "errors": sum(v["errors"] for v in seen),
        "p95": max(p95s) if p95s else None,
    }


def _merge(points: list[dict[str, Any]], size: int) -> list[dict[str, Any]]:
    """Consecutive points in groups of ``size``: counts add up, p95 is the group's highest."""
    if size <= 1:
        return points
    out = []
    for i in range(0, len(points), size):
        group = points[i : i + size]
        merged: dict[str, Any] = {"t": group[-1]["t"]}
        for target in ("stable", "canary"):
            merged[target] = _merge_target([p[target] for p in group if target in p])
        out.append(merged)
    return out


def _value(values: dict[str, Any] | None, metric: str) -> float | None:
    if not values or "no_data" in values or not values.get("requests"):
        return None
    if metric == "p95":
        p95 = values.get("p95")
        return None if p95 is None else float(p95) * 1000.0
    return float(values["errors"]) / float(values["requests"]) * 100.0


def _bound(record: dict[str, Any], metric: str) -> tuple[float | None, str | None]:
    """The absolute all-routes bound of the chart's metric, when the policy has one."""
    for rule in record.get("plan", {}).get("rules", []):
        slo = rule["slo"]
        if slo.get("route_class") or slo.get("comparison", "absolute") != "absolute":
            continue
        if slo.get("threshold") is None:
            continue
        if metric == "p95" and slo["kind"] == "latency" and slo.get("quantile") == 0.95:
            return float(slo["threshold"]) * 1000.0, str(slo["name"])
        if metric == "error_rate" and slo["kind"] == "error_rate":
            return float(slo["threshold"]) * 100.0, str(slo["name"])
    return None, None


def series(record: dict[str, Any], metric: str) -> Series:
    """``metric``: ``p95`` (milliseconds) or ``error_rate`` (percent)."""
    points = [p for p in record.get("timeline") or [] if "stable" in p or "canary" in p]
    size = max(1, math.ceil(len(points) / MAX_COLUMNS))
    origin = _origin(record)
    labels, stable, canary = [], [], []
    for point in _merge(points, size):
        s, c = _value(point.get("stable"), metric), _value(point.get("canary"), metric)
        if s is None or c is None:
            continue  # an interval without data on either side has nothing to compare
        labels.append(_since(point["t"] - origin))
        stable.append(s)
        canary.append(c)
    bound, slo = _bound(record, metric)
    if metric == "p95":
        return Series("p95 latency, all routes", "ms", labels, stable, canary, bound, slo, size)
    return Series("error rate, all routes", "%", labels, stable, canary, bound, slo, size)


def _since(seconds: float) -> str:
    """Whole seconds, as the axis reads them: ``0s``, ``40s``, ``1m10s``."""
    whole = max(round(seconds), 0)
    return format_duration(whole) if whole else "0s"


def _number(value: float) -> str:
    text = f"{value:.3f}".rstrip("0").rstrip(".")
    return text if text not in ("", "-0") else "0"


def _ceiling(value: float) -> float:
    """A round axis maximum above ``value`` (1, 2, 2.5 or 5 × 10^k)."""
    if value <= 0:
        return 1.0
    scale = 10 ** math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if value <= step * scale:
            return step * scale
    return 10.0 * scale


def mermaid(s: Series) -> str:
    """The chart as a fenced ``mermaid`` block."""
    top = _ceiling(max([*s.stable, *s.canary, s.bound or 0.0]) * 1.1)
    labels = ", ".join(f'"{label}"' for label in s.labels)
    lines = [
        "```mermaid",
        '%%{init: {"themeVariables": {"xyChart": {"plotColorPalette": "' + PALETTE + '"}}}}%%',
        "xychart-beta",
        f'    title "{s.title} ({s.unit})"',
        f'    x-axis "time since the canary got traffic" [{labels}]',
        f'    y-axis "{s.unit}" 0 --> {_number(top)}',
        f"    line [{', '.join(_number(v) for v in s.stable)}]",
        f"    line [{', '.join(_number(v) for v in s.canary)}]",
    ]
    if s.bound is not None:
        lines.append(f"    line [{', '.join(_number(s.bound) for _ in s.labels)}]")
    lines.append("```")
    return "\n".join(lines)


def _caption(s: Series) -> str:
    text = "Green: stable. Red: canary."
    if s.bound is not None:
        text += f" Grey: the bound of `{s.bound_slo}`."
    if s.merged > 1:
        text += (
            f" Each point merges {s.merged} analysis intervals (their {s.unit} together"
            if s.unit == "%"
            else f" Each point merges {s.merged} analysis intervals (the highest p95 of them"
        ) + ")."
    return text


def _origin(record: dict[str, Any]) -> float:
    points = record.get("timeline") or []
    return float(record.get("traffic_at") or (points[0].get("from") if points else 0.0) or 0.0)


def _weights(record: dict[str, Any]) -> str | None:
    """``Canary weight: 10% from 0s, 50% from 30s.`` (the x axis does not show the steps)."""
    origin = _origin(record)
    shifts = [
        f"{s['weight']}% from {_since(s['start'] - origin)}"
        for s in record.get("steps", [])
        if s.get("kind") == "set_weight" and s.get("start") is not None
    ]
    return f"Canary weight: {', '.join(shifts)}." if shifts else None


def charts(record: dict[str, Any]) -> list[str]:
    """Markdown: a p95 and an error-rate chart with captions, or a line saying why not."""
    out: list[str] = []
    for metric in ("p95", "error_rate"):
        s = series(record, metric)
        if not s.labels:
            continue
        out += [mermaid(s), "", _caption(s), ""]
    if not out:
        return ["No analysis interval measured both stable and canary: nothing to chart.", ""]
    weights = _weights(record)
    return [weights, "", *out] if weights else out
