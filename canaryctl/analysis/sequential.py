"""The sequential judge: anytime-valid tests on counts, re-evaluated as often as the engine likes.

The engine passes stable and canary windows accumulated since the canary received traffic at
its current weight (``scope = "cumulative"``). Every SLO becomes a question about a rate:

* ``error_rate`` absolute — the canary's error rate against the bound;
* ``latency`` absolute — ``p95 <= 250ms`` holds exactly when at most 5% of requests are slower
  than 250 ms, so the slow fraction (from the histogram) is tested against ``1 - q``;
* ``latency`` relative — the same, with the cutoff ``factor × stable's quantile`` (or ``+
  margin``, never below the floor);
* ``error_rate`` relative with a factor — a two-sample test conditional on the errors: each
  error is the canary's with a probability fixed by the traffic split and the two rates
  (Lindon et al. 2022), so the 10/90 imbalance is part of the null, and a shared incident that
  raises both versions' errors is no evidence against the canary. The floor is a second test
  that must also reject (an intersection-union test: no level is lost);
* ``error_rate`` relative with ``maxIncrease`` — the canary against the stable's anytime upper
  bound plus the margin, half the level spent on each.

Absolute rules fail only when the canary is also worse than stable over the same time
(``only_if_worse_than_stable``, default true): a shared incident is inconclusive, not a
rollback. Outcomes and their evidence are described in ``canaryctl.analysis.verdicts``.

Every statistic is a function of the cumulative counts, so the judge keeps no state between
evaluations: a resumed deployment gets the same verdicts. See docs/analysis.md.
"""

from __future__ import annotations

from canaryctl.analysis.base import SloRule, Verdict
from canaryctl.analysis.rates import assess_error_absolute, assess_error_relative, assess_latency
from canaryctl.analysis.verdicts import (
    Assessment,
    SequentialSettings,
    decide,
    inconclusive_verdict,
    no_data_verdict,
)
from canaryctl.errors import InvalidInput
from canaryctl.metrics.base import NoData, WindowStats

__all__ = ["SequentialJudge"]


class SequentialJudge:
    """Anytime-valid judge on cumulative counts; see the module docstring."""

    scope = "cumulative"
    name = "sequential"

    def judge(
        self, rule: SloRule, stable: WindowStats | NoData, canary: WindowStats | NoData
    ) -> Verdict:
        settings = SequentialSettings.from_params(rule.params)
        relative = rule.comparison == "relative"
        missing = no_data_verdict(rule, self.name, stable, canary, needs_stable=relative)
        if missing is not None:
            return missing
        assert isinstance(canary, WindowStats)
        if canary.requests < max(rule.min_requests, 1):
            return inconclusive_verdict(
                rule, self.name, stable, canary,
                f"{canary.requests} canary requests so far; the policy asks for "
                f"{rule.min_requests} before any verdict",
                max(rule.min_requests, 1) - canary.requests,
            )  # fmt: skip
        found = self._assess(rule, settings, stable, canary)
        if isinstance(found, str):
            return inconclusive_verdict(rule, self.name, stable, canary, found, None)
        return decide(rule, settings, found, stable, canary, self.name)

    @staticmethod
    def _assess(
        rule: SloRule, s: SequentialSettings, stable: WindowStats | NoData, canary: WindowStats
    ) -> Assessment | str:
        if rule.kind == "latency":
            if not canary.buckets:
                return "the canary window has no latency histogram"
            return assess_latency(rule, s, stable, canary)
        if rule.kind != "error_rate":
            raise InvalidInput(f"SLO {rule.name}: the sequential judge cannot judge {rule.kind!r}")
        if rule.comparison == "relative":
            assert isinstance(stable, WindowStats)
            return assess_error_relative(rule, s, stable, canary)
        return assess_error_absolute(rule, s, stable, canary)
