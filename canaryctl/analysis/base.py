"""The Judge seam: window statistics of stable and canary + one SLO rule → a Verdict."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from canaryctl.metrics.base import NoData, WindowStats

__all__ = ["Judge", "Outcome", "SloRule", "Verdict"]


class Outcome(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"
    ERROR = "error"


@dataclass(frozen=True)
class SloRule:
    """One SLO of a policy, independent of how the YAML spelled it.

    kind: "error_rate" | "latency"
    comparison: "absolute" (threshold is the bound) | "relative" (bound = factor × stable's value,
      optionally never below ``threshold`` as a floor)
    quantile: for latency rules, e.g. 0.95
    threshold: seconds for latency, a fraction for error rate (0.01 == 1%)
    factor: for relative rules, e.g. 1.2
    min_requests: canary requests needed before any verdict other than inconclusive
    judge: "threshold" (fixed window) or another registered judge type
    params: judge-specific parameters (e.g. alpha for sequential judges)
    """

    name: str
    kind: str
    route_class: str | None = None
    comparison: str = "absolute"
    threshold: float | None = None
    factor: float | None = None
    quantile: float = 0.95
    min_requests: int = 50
    judge: str = "threshold"
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """A judge's answer. ``evidence`` holds sample sizes, p/e-values and bounds, by name."""

    slo: str
    outcome: Outcome
    route_class: str | None
    measured: float | None
    threshold: float | None
    baseline: float | None = None
    canary_requests: int = 0
    stable_requests: int = 0
    evidence: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    needed_requests: int | None = None
    target: str = "canary"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["outcome"] = self.outcome.value
        return d


class Judge(Protocol):
    """Judges one SLO rule from the stable and canary windows of the same time range.

    ``scope`` says which range the engine passes: ``"interval"`` — the last analysis interval
    only (fixed-window judges, as Flagger and Argo Rollouts do); ``"cumulative"`` — everything
    since the canary received traffic at its current weight (sequential judges, whose
    statistics are valid under continuous monitoring).
    """

    scope: str

    def judge(
        self, rule: SloRule, stable: WindowStats | NoData, canary: WindowStats | NoData
    ) -> Verdict: ...
