"""Pipeline and policy files: pydantic models, loading with file:line errors, ``--set``.

Platform and metric-source implementations import their config models from here
(``canaryctl.config.platform``, ``canaryctl.config.metrics``).
"""

from __future__ import annotations

from canaryctl.config.loader import (
    LoadedPipeline,
    LoadedPolicy,
    load_any,
    load_pipeline,
    load_policy,
    pipeline_from_snapshot,
)
from canaryctl.config.metrics import (
    CloudWatchMetricsConfig,
    EmbeddedMetricsConfig,
    PrometheusMetricsConfig,
    ReplayMetricsConfig,
)
from canaryctl.config.platform import EcsPlatformConfig, LocalPlatformConfig
from canaryctl.config.state import FileStateConfig, S3StateConfig

__all__ = [
    "CloudWatchMetricsConfig",
    "EcsPlatformConfig",
    "EmbeddedMetricsConfig",
    "FileStateConfig",
    "LoadedPipeline",
    "LoadedPolicy",
    "LocalPlatformConfig",
    "PrometheusMetricsConfig",
    "ReplayMetricsConfig",
    "S3StateConfig",
    "load_any",
    "load_pipeline",
    "load_policy",
    "pipeline_from_snapshot",
]
