"""Metric-source sections of a pipeline (``metrics: {type: embedded | prometheus | ...}``).

The implementations in ``canaryctl.metrics`` receive these validated models.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field

from canaryctl.config.models import Model, PositiveDuration
from canaryctl.config.prometheus import PrometheusMetricsConfig

__all__ = [
    "CloudWatchMetricsConfig",
    "EmbeddedMetricsConfig",
    "MetricsConfig",
    "PrometheusMetricsConfig",
    "ReplayMetricsConfig",
]


class EmbeddedMetricsConfig(Model):
    """The local router's own counters, read directly (no Prometheus needed)."""

    type: Literal["embedded"] = "embedded"


class CloudWatchMetricsConfig(Model):
    """ALB target-group metrics from CloudWatch."""

    type: Literal["cloudwatch"] = "cloudwatch"
    region: str | None = None
    namespace: str = "AWS/ApplicationELB"
    period: PositiveDuration = 60.0


def _speed(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lower() == "max":
        return "max"
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"must be a number (1 = real time) or max, got {value!r}")
    if not (value > 0 and math.isfinite(value)):
        raise ValueError(f"must be above zero (1 = real time) or max, got {value!r}")
    return float(value)


ReplaySpeed = Annotated[float | Literal["max"], BeforeValidator(_speed)]


class ReplayMetricsConfig(Model):
    """Recorded window statistics (JSON lines, docs/replay-format.md), replayed as if live.

    ``path`` is relative to the pipeline file. ``speed``: 1 replays in real time, k runs the
    deployment's clock k times faster, ``max`` runs it in virtual time (as fast as it can).
    """

    type: Literal["replay"] = "replay"
    path: str
    speed: ReplaySpeed = 1.0


MetricsConfig = Annotated[
    EmbeddedMetricsConfig | PrometheusMetricsConfig | CloudWatchMetricsConfig | ReplayMetricsConfig,
    Field(discriminator="type"),
]
