"""The Platform seam: task sets for versions, and the traffic weights between them.

Implementations: ``local`` (processes + a weighted router, the embedded default) and ``ecs``
(ECS task sets behind ALB weighted target groups). Every call is idempotent: calling it twice,
or after a crash, converges to the same state. A platform instance is bound to one service.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = ["CanarySpec", "Platform", "PlatformState", "TaskSet", "Weights"]


@dataclass(frozen=True)
class Weights:
    """Traffic split in percent; ``stable + canary == 100``."""

    stable: int
    canary: int

    def __post_init__(self) -> None:
        if not (0 <= self.canary <= 100 and self.stable + self.canary == 100):
            raise ValueError(f"weights must be 0..100 and add up to 100, got {self}")

    @classmethod
    def canary_percent(cls, pct: int) -> Weights:
        return cls(stable=100 - pct, canary=pct)


@dataclass(frozen=True)
class CanarySpec:
    """What to start as the canary: the version, the environment overrides that apply to the
    canary only (``deploy --env``) and, on ECS, what it runs (``deploy --image``,
    ``--task-definition``): an image, a task definition ARN, or ``definition``, a task
    definition to register (RegisterTaskDefinition's parameters, read from a file)."""

    version: str
    env: dict[str, str] = field(default_factory=dict)
    image: str | None = None
    task_definition: str | None = None
    scale_percent: float = 100.0
    definition: dict[str, Any] | None = None


@dataclass(frozen=True)
class TaskSet:
    id: str
    version: str
    role: str  # "stable" | "canary"
    healthy: bool
    running: int
    desired: int
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class PlatformState:
    stable: TaskSet | None
    canary: TaskSet | None
    weights: Weights
    details: dict[str, Any] = field(default_factory=dict)


class Platform(Protocol):
    """Drives one service's task sets and traffic. Raises ``PlatformError`` subclasses."""

    name: str

    def describe(self) -> PlatformState:
        """The current task sets and weights, read from the platform (not from memory)."""
        ...

    def start_canary(self, spec: CanarySpec) -> TaskSet:
        """Start the canary task set at 0% traffic. If a canary of the same version is already
        there (a resumed deployment), return it; a canary of another version is an error."""
        ...

    def wait_healthy(self, timeout_s: float) -> TaskSet:
        """Block until the canary task set is healthy; ``UnhealthyTaskSet`` naming what is not."""
        ...

    def set_weights(self, weights: Weights, expected: Weights | None = None) -> Weights:
        """Set the split, read it back and verify. When ``expected`` is given and the current
        weights differ from it, raise ``TrafficDrift`` and change nothing."""
        ...

    def promote(self) -> PlatformState:
        """The canary becomes the stable task set at 100%; the old stable is removed."""
        ...

    def rollback(self) -> PlatformState:
        """100% to stable, then remove the canary task set. Safe when there is no canary."""
        ...

    def close(self) -> None:
        """Release clients and connections (not the task sets)."""
        ...
