"""Platforms: ``create_platform`` maps a pipeline's ``platform.type`` to an implementation.

Each implementation module exposes a class with ``from_config(config, *, service, base_dir)``
that takes the pipeline's validated ``platform`` model. Unknown types are refused.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canaryctl.errors import InvalidInput

if TYPE_CHECKING:
    from canaryctl.platforms.base import Platform

__all__ = ["PLATFORMS", "create_platform"]

PLATFORMS: dict[str, str] = {
    "local": "canaryctl.platforms.local.platform:LocalPlatform",
    "ecs": "canaryctl.platforms.ecs.platform:EcsPlatform",
}


def create_platform(config: Any, *, service: str, base_dir: Path) -> Platform:
    kind = getattr(config, "type", None)
    try:
        target = PLATFORMS[kind]  # type: ignore[index]
    except KeyError:
        raise InvalidInput(
            f"unknown platform type {kind!r} (known: {', '.join(sorted(PLATFORMS))})"
        ) from None
    module, _, cls = target.partition(":")
    klass = getattr(importlib.import_module(module), cls)
    return klass.from_config(config, service=service, base_dir=base_dir)
