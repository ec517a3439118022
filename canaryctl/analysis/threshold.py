"""The fixed-window threshold judge (what Flagger and Argo Rollouts do).

Absolute rules compare the canary's value over the window with the bound. Relative rules
compare it with the stable version's value over the same window: ``factor × stable`` or
``stable + margin``, never below the rule's floor (``threshold``), so a near-zero stable value
cannot make the bound absurdly tight. Values: p-quantile latency from the histogram buckets
(seconds), or the error rate (a fraction).

No data is never a pass: a missing canary (or, for relative rules, stable) window is
``ERROR`` with the source's reason; fewer canary requests than ``min_requests`` is
``INCONCLUSIVE`` with the number of requests still needed.
"""

from __future__ import annotations

from typing import Any

from canaryctl.analysis.base import Outcome, SloRule, Verdict
from canaryctl.metrics.base import NoData, WindowStats

__all__ = ["ThresholdJudge", "measure", "relative_bound"]


def measure(rule: SloRule, stats: WindowStats) -> float | None:
    """The rule's value for one window: error rate, or the rule's latency quantile."""
    if rule.kind == "error_rate":
        return stats.error_rate
    if rule.kind == "latency":
        return stats.quantile(rule.quantile)
    raise ValueError(f"unknown SLO kind {rule.kind!r}")


def relative_bound(rule: SloRule, baseline: float) -> float:
    """``max(floor, factor × baseline or baseline + margin)``."""
    margin = rule.params.get("margin")
    if rule.factor is not None:
        bound = rule.factor * baseline
    elif margin is not None:
        bound = baseline + float(margin)
    else:
        raise ValueError(f"relative rule {rule.name!r} has neither factor nor margin")
    return max(bound, rule.threshold or 0.0)


def _counts(stats: WindowStats | NoData) -> dict[str, Any]:
    if isinstance(stats, NoData):
        return {"no_data": stats.reason}
    return {"requests": stats.requests, "errors": stats.errors}


class ThresholdJudge:
    """Judges one window at a time; the engine passes the last interval."""

    scope = "interval"

    def judge(
        self, rule: SloRule, stable: WindowStats | NoData, canary: WindowStats | NoData
    ) -> Verdict:
        evidence: dict[str, Any] = {
            "canary": _counts(canary),
            "stable": _counts(stable),
            "judge": "threshold",
        }
        base: dict[str, Any] = {
            "slo": rule.name,
            "route_class": rule.route_class,
            "stable_requests": 0 if isinstance(stable, NoData) else stable.requests,
            "evidence": evidence,
        }
        if isinstance(canary, NoData):
            return Verdict(
                outcome=Outcome.ERROR,
                measured=None,
                threshold=None,
                message=f"no canary data: {canary.reason}",
                **base,
            )
        base["canary_requests"] = canary.requests
        baseline = None if isinstance(stable, NoData) else measure(rule, stable)
        base["baseline"] = baseline
        if canary.requests < rule.min_requests:
            need = rule.min_requests - canary.requests
            return Verdict(
                outcome=Outcome.INCONCLUSIVE,
                measured=measure(rule, canary),
                threshold=None,
                needed_requests=need,
                message=f"{canary.requests} canary requests, {rule.min_requests} needed",
                **base,
            )
        measured = measure(rule, canary)
        if rule.comparison == "absolute":
            bound = rule.threshold
        else:
            bound, problem = self._relative(rule, stable, baseline)
            if bound is None:
                outcome = Outcome.ERROR if isinstance(stable, NoData) else Outcome.INCONCLUSIVE
                return Verdict(
                    outcome=outcome, measured=measured, threshold=None, message=problem, **base
                )
            evidence["floor"] = rule.threshold
        if measured is None or bound is None:
            return Verdict(
                outcome=Outcome.ERROR,
                measured=measured,
                threshold=bound,
                message="the window has no value to judge",
                **base,
            )
        ok = measured <= bound
        return Verdict(
            outcome=Outcome.PASS if ok else Outcome.FAIL,
            measured=measured,
            threshold=bound,
            message=f"{measured:.6g} {'<=' if ok else '>'} {bound:.6g}",
            **base,
        )

    @staticmethod
    def _relative(
        rule: SloRule, stable: WindowStats | NoData, baseline: float | None
    ) -> tuple[float | None, str]:
        if isinstance(stable, NoData):
            return None, f"no stable data for the relative bound: {stable.reason}"
        if stable.requests < rule.min_requests or baseline is None:
            return None, (
                f"{stable.requests} stable requests, {rule.min_requests} needed for a baseline"
            )
        return relative_bound(rule, baseline), ""
