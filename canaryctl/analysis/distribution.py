"""The distribution judge: is the canary slower than stable anywhere in its latency histogram?

A quantile judge watches one point of the distribution; a canary that sends 3% of its
requests to a one-second detour leaves the median and often the p95 where they were. This
judge looks at every bucket bound ``b`` of the shared histogram at once (a one-sided,
Kolmogorov-style comparison of the two survival functions):

    H0: for every b,  P_canary(latency > b) <= factor × P_stable(latency > b)

For one bound, the requests slower than ``b`` are trials of the conditional test the
sequential judge uses for errors: each is the canary's with probability ``theta0 =
odds_scaled(w, factor)`` or less under H0 (``w``: the canary's share of traffic). That gives
one e-process per bound; their *average* is an e-process too, so the judge fails when the
average reaches 1/alpha — no Bonferroni correction, no penalty for looking every second.

Scope: cumulative. The evidence is anytime-valid on everything since the canary got traffic,
so re-judging the whole run every interval is free of peeking error; an interval-scoped test
would throw away earlier evidence and need a correction for the number of looks.

Assumptions (docs/analysis.md has the long form): requests are independent given the
traffic split; stable and canary are measured over the same time and share the same bucket
bounds; a shift inside one bucket is invisible (the histogram is the resolution); a faster
canary is never flagged; ``rule.threshold`` (optional) ignores bounds below it (only the tail
matters); a decided pass needs every bound where stable has at least ``min_tail`` (default 1%)
of its requests beyond it to be certified — rarely before several thousand canary requests.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from canaryctl.analysis.base import SloRule, Verdict
from canaryctl.analysis.stats import (
    MAX_LOG_E,
    log_e_above,
    log_e_below,
    needed_trials,
    odds_scaled,
    power_trials,
    rate_test,
)
from canaryctl.analysis.verdicts import (
    Assessment,
    SequentialSettings,
    decide,
    inconclusive_verdict,
    no_data_verdict,
)
from canaryctl.errors import InvalidInput
from canaryctl.metrics.base import NoData, WindowStats

__all__ = ["DistributionJudge"]

_DEFAULT_FACTOR = 1.25
_DEFAULT_MIN_TAIL = 0.01


@dataclass(frozen=True)
class _Tail:
    """Requests slower than one bucket bound, per version, and the test's log e-values."""

    bound: float
    canary: int
    stable: int
    log_e_fail: float
    log_e_pass: float


def _log_mean_exp(values: list[float]) -> float:
    top = max(values)
    return top + math.log(sum(math.exp(v - top) for v in values) / len(values))


def _tails(
    stable: WindowStats, canary: WindowStats, theta0: float, smallest: float, min_stable: float
) -> list[_Tail]:
    out = []
    # the bounds are equal (checked by the caller), so each cutoff is an exact bucket count
    for (bound, below_c), (_, below_s) in zip(canary.buckets, stable.buckets, strict=True):
        if math.isinf(bound) or bound < smallest:
            continue
        c, s = canary.requests - below_c, stable.requests - below_s
        fail = log_e_above(c + s, c, theta0) if c + s else 0.0
        # the pass side is only asked of bounds with a real stable tail
        passed = log_e_below(c + s, c, theta0) if s >= min_stable else -MAX_LOG_E
        out.append(_Tail(bound, c, s, fail, passed))
    return out


def _ratio(t: _Tail, n_c: int, n_s: int) -> float:
    # half a request of stable tail keeps an empty stable tail from dividing by zero
    return (t.canary / n_c) / (max(t.stable, 0.5) / n_s)


class DistributionJudge:
    """Fails when the canary is, at some bucket bound, more than ``factor`` (default 1.25)
    times as likely as stable to be slower than that bound; see the module docstring."""

    scope = "cumulative"
    name = "distribution"

    def judge(
        self, rule: SloRule, stable: WindowStats | NoData, canary: WindowStats | NoData
    ) -> Verdict:
        settings = SequentialSettings.from_params(rule.params)
        factor = float(rule.factor or rule.params.get("factor", _DEFAULT_FACTOR))
        min_tail = float(rule.params.get("min_tail", _DEFAULT_MIN_TAIL))
        if factor < 1.0 or not 0.0 < min_tail < 1.0:
            raise InvalidInput(
                f"SLO {rule.name}: the distribution judge needs factor >= 1 and 0 < min_tail < 1"
            )
        missing = no_data_verdict(rule, self.name, stable, canary, needs_stable=True)
        if missing is not None:
            return missing
        assert isinstance(canary, WindowStats) and isinstance(stable, WindowStats)
        short = self._too_little(rule, stable, canary)
        if short is not None:
            return short
        found = self._assess(rule, settings, stable, canary, factor, min_tail)
        return decide(rule, settings, found, stable, canary, self.name)

    def _too_little(
        self, rule: SloRule, stable: WindowStats, canary: WindowStats
    ) -> Verdict | None:
        problem = None
        if not canary.buckets or not stable.buckets:
            problem = "no latency histogram to compare"
        elif [b for b, _ in canary.buckets] != [b for b, _ in stable.buckets]:
            problem = "stable and canary histograms have different bucket bounds"
        elif min(canary.requests, stable.requests) < max(rule.min_requests, 1):
            problem = (f"{canary.requests} canary and {stable.requests} stable requests so far; "
                       f"the policy asks for {rule.min_requests} of each")  # fmt: skip
        if problem is None:
            return None
        need = max(0, max(rule.min_requests, 1) - canary.requests) or None
        return inconclusive_verdict(rule, self.name, stable, canary, problem, need)

    @staticmethod
    def _assess(
        rule: SloRule, s: SequentialSettings, stable: WindowStats, canary: WindowStats,
        factor: float, min_tail: float,
    ) -> Assessment:  # fmt: skip
        n_c, n_s = canary.requests, stable.requests
        share = n_c / (n_c + n_s)
        theta0 = odds_scaled(share, factor)
        tails = _tails(stable, canary, theta0, float(rule.threshold or 0.0), min_tail * n_s)
        if not tails:
            raise InvalidInput(f"SLO {rule.name}: no histogram bound at or above its threshold")
        fail = _log_mean_exp([t.log_e_fail for t in tails])
        # a decided pass must certify every bound where stable has a real tail (all of them:
        # rejecting a union of nulls needs each one rejected, at the full level)
        eligible = [t for t in tails if t.stable >= min_tail * n_s]
        passed = min((t.log_e_pass for t in eligible), default=-MAX_LOG_E)
        strongest = max(tails, key=lambda t: t.log_e_fail)
        # what to show: the strongest bound once the averaged evidence leans that way, else
        # the largest ratio among bounds with enough expected canary requests to estimate it
        populated = [t for t in tails if t.stable / n_s * n_c >= 30] or tails
        focus = (
            strongest
            if strongest.log_e_fail > 0
            else max(populated, key=lambda t: _ratio(t, n_c, n_s))
        )
        measured = _ratio(focus, n_c, n_s)
        events = focus.canary + focus.stable
        rel = rate_test(events, focus.canary, theta0, s.alpha, s.power_ratio)
        odds_w = share / (1.0 - share)
        lo = rel.lower / (1.0 - rel.lower) / odds_w
        hi = rel.upper / (1.0 - rel.upper) / odds_w if rel.upper < 1 else None
        # the average over K bounds reaches 1/alpha once one bound's e-value reaches K/alpha
        k_alpha = s.alpha / len(tails)
        # power: a power_ratio-times regression at the thinnest tail that counts (min_tail)
        power_events = power_trials(theta0, k_alpha, s.power_ratio)
        per_request = min_tail * (s.power_ratio * factor + n_s / n_c)
        power = None if power_events is None else math.ceil(power_events / per_request)
        needed = None
        if fail >= 0.5 * math.log(1.0 / s.alpha) and events > 0:
            total = needed_trials(focus.canary / events, theta0, k_alpha, above=True)
            needed = None if total is None else max(0, math.ceil(total * n_c / events) - n_c)
        ks = max(abs(t.canary / n_c - t.stable / n_s) for t in tails)
        table = [{"le": t.bound, "canary_tail": t.canary / n_c, "stable_tail": t.stable / n_s,
                  "log_e_value": t.log_e_fail} for t in tails]  # fmt: skip
        evidence: dict[str, Any] = {
            "method": "conditional-binomial per bucket bound, averaged e-values",
            "factor": factor, "canary_share": share, "theta0": theta0, "bounds_tested": len(tails),
            "focus_bound_s": focus.bound, "strongest_bound_s": strongest.bound,
            "lower": lo, "upper": hi,
            "bounds_of": f"canary/stable ratio of P(latency > {focus.bound:g}s)",
            "ks_distance": ks, "tails": table,
        }  # fmt: skip
        return Assessment(
            measured=measured, threshold=factor, fail_log_e=fail, pass_log_e=passed,
            within=fail < 0.5 * math.log(1.0 / s.alpha), needed=needed, power_requests=power,
            what=(f"canary is {measured:.3g}x as likely as stable to be slower than "
                  f"{1000 * focus.bound:g}ms (at most {factor:g}x allowed; "
                  f"{100 * (1 - s.alpha):g}% anytime bounds {lo:.3g}.."
                  f"{'inf' if hi is None else f'{hi:.3g}'}; KS distance {ks:.3f})"),
            evidence=evidence,
        )  # fmt: skip
