"""Metric-source sections of a pipeline (``metrics: {type: embedded | prometheus | ...}``).

The implementations in ``canaryctl.metrics`` receive these validated models.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from canaryctl.config.models import Model, PositiveDuration

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


class PrometheusMetricsConfig(Model):
    """A Prometheus server that scrapes the router (or the ALB exporter)."""

    type: Literal["prometheus"] = "prometheus"
    url: str
    timeout: PositiveDuration = 5.0


class CloudWatchMetricsConfig(Model):
    """ALB target-group metrics from CloudWatch."""

    type: Literal["cloudwatch"] = "cloudwatch"
    region: str | None = None
    namespace: str = "AWS/ApplicationELB"
    period: PositiveDuration = 60.0


class ReplayMetricsConfig(Model):
    """Recorded window statistics (JSON lines), replayed as if live."""

    type: Literal["replay"] = "replay"
    path: str


MetricsConfig = Annotated[
    EmbeddedMetricsConfig | PrometheusMetricsConfig | CloudWatchMetricsConfig | ReplayMetricsConfig,
    Field(discriminator="type"),
]
