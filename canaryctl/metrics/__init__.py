"""Metric sources: ``create_source`` maps a pipeline's ``metrics.type`` to an implementation.

Each implementation module exposes a class with ``from_config(config, *, service, base_dir,
platform)`` taking the pipeline's validated ``metrics`` model. Unknown types are refused.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canaryctl.errors import InvalidInput

if TYPE_CHECKING:
    from canaryctl.metrics.base import MetricSource, SourceCapabilities, SourceClass
    from canaryctl.platforms.base import Platform

__all__ = ["SOURCES", "create_source", "source_capabilities", "source_class"]

SOURCES: dict[str, str] = {
    "embedded": "canaryctl.metrics.embedded:EmbeddedSource",
    "prometheus": "canaryctl.metrics.prometheus:PrometheusSource",
    "cloudwatch": "canaryctl.metrics.cloudwatch:CloudWatchSource",
    "replay": "canaryctl.metrics.replay:ReplaySource",
}


def source_class(config: Any) -> SourceClass:
    """The implementation class of ``config.type``; unknown types are refused."""
    kind = getattr(config, "type", None)
    try:
        target = SOURCES[kind]  # type: ignore[index]
    except KeyError:
        raise InvalidInput(
            f"unknown metrics type {kind!r} (known: {', '.join(sorted(SOURCES))})"
        ) from None
    module, _, cls = target.partition(":")
    klass: SourceClass = getattr(importlib.import_module(module), cls)
    return klass


def source_capabilities(config: Any) -> SourceCapabilities:
    """What the source a pipeline's ``metrics`` model describes can answer (no I/O)."""
    return source_class(config).capabilities(config)


def create_source(
    config: Any, *, service: str, base_dir: Path, platform: Platform | None = None
) -> MetricSource:
    klass = source_class(config)
    return klass.from_config(config, service=service, base_dir=base_dir, platform=platform)
