"""What the engine executes: resolved steps and SLO rules, independent of the YAML.

A ``Plan`` is built by ``canaryctl.config`` from a pipeline and its policy, and is stored in
the deployment record (``to_dict``) so that ``resume`` runs exactly what was started, even if
the files changed since.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from canaryctl.analysis.base import SloRule

__all__ = ["LoadHookSpec", "Plan", "RuleSpec", "StepSpec"]


@dataclass(frozen=True)
class StepSpec:
    """kind: ``set_weight`` | ``analyze`` | ``pause`` | ``promote``."""

    kind: str
    weight: int | None = None
    duration_s: float | None = None
    interval_s: float | None = None

    def describe(self) -> str:
        if self.kind == "set_weight":
            return f"set weight {self.weight}%"
        if self.kind == "analyze":
            return f"analyze {self.duration_s:g}s (every {self.interval_s:g}s)"
        if self.kind == "pause":
            return f"pause {self.duration_s:g}s" if self.duration_s else "pause until resumed"
        return "promote"


@dataclass(frozen=True)
class RuleSpec:
    """One SLO rule and how the engine treats its verdicts."""

    slo: SloRule
    failure_limit: int = 2
    missing_action: str = "rollback"  # rollback | pause
    missing_limit: int = 3
    early_promotion: bool = False
    required: bool = True  # False: too few requests to judge does not hold the promotion up

    @property
    def name(self) -> str:
        return self.slo.name

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "slo": asdict(self.slo)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RuleSpec:
        return cls(**{**data, "slo": SloRule(**data["slo"])})


@dataclass(frozen=True)
class LoadHookSpec:
    profile: str
    rps: float
    duration_s: float | None = None
    url: str | None = None
    ws_players: int = 0
    matchmaking: float | None = None  # share of the actions; None: the generator's default
    allow_remote: bool = False  # the pipeline opted in to a target that is not loopback
    runner: str = "canaryctl"  # canaryctl | k6
    script: str | None = None  # runner k6: the user's script (absolute path)
    # Where the hook is written (``file:line``, or the ``--set`` flag) and its key, for the
    # errors the hook runner raises at run time (a name that resolves to a remote address).
    where: str = "pipeline"
    key: str = "hooks.duringAnalysis[0].load"

    def options(self) -> dict[str, Any]:
        """The generator options beyond profile, rate and duration (``LoadOptions`` fields)."""
        out: dict[str, Any] = {}
        if self.ws_players:
            out["ws_players"] = self.ws_players
        if self.matchmaking is not None:
            out["matchmaking"] = self.matchmaking
        return out


@dataclass(frozen=True)
class Plan:
    service: str
    steps: tuple[StepSpec, ...]
    rules: tuple[RuleSpec, ...]
    on_failure: str = "rollback"  # rollback | pause
    load_hooks: tuple[LoadHookSpec, ...] = ()
    health_timeout_s: float = 60.0
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "steps": [asdict(s) for s in self.steps],
            "rules": [r.to_dict() for r in self.rules],
            "on_failure": self.on_failure,
            "load_hooks": [asdict(h) for h in self.load_hooks],
            "health_timeout_s": self.health_timeout_s,
            "details": self.details,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Plan:
        return cls(
            service=data["service"],
            steps=tuple(StepSpec(**s) for s in data["steps"]),
            rules=tuple(RuleSpec.from_dict(r) for r in data["rules"]),
            on_failure=data.get("on_failure", "rollback"),
            load_hooks=tuple(LoadHookSpec(**h) for h in data.get("load_hooks", [])),
            health_timeout_s=data.get("health_timeout_s", 60.0),
            details=data.get("details", {}),
        )
