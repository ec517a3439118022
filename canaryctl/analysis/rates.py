"""Assessments of one SLO rule as rates, for the sequential judge (see its docstring).

Each function turns cumulative stable/canary windows into an ``Assessment``: the e-values for
"regression" and "certainly within", the confidence bounds, and the traffic still needed.
"""

from __future__ import annotations

import math
from typing import Any

from canaryctl.analysis.base import SloRule
from canaryctl.analysis.stats import (
    RateTest,
    log_e_above,
    log_e_below,
    lower_bound,
    needed_trials,
    odds_scaled,
    rate_test,
    upper_bound,
)
from canaryctl.analysis.threshold import relative_bound
from canaryctl.analysis.verdicts import (
    Assessment,
    SequentialSettings,
    fmt_level,
    fmt_ms,
    fmt_pct,
    param_number,
)
from canaryctl.metrics.base import NoData, WindowStats

__all__ = ["assess_error_absolute", "assess_error_relative", "assess_latency"]

_LOG2 = math.log(2.0)


def _one_sample(t: RateTest, name: str) -> dict[str, Any]:
    return {
        name: t.rate, f"{name}_bound": t.bound, "lower": t.lower, "upper": t.upper,
        "bounds_of": name, "trials": t.trials, "successes": t.successes,
    }  # fmt: skip


def _blame(
    s: SequentialSettings, stable: WindowStats | NoData, canary: WindowStats,
    canary_events: float, stable_events: float, min_requests: int,
) -> float | None:  # fmt: skip
    """Evidence that the canary's events (errors, slow requests) are more frequent than the
    stable's over the same time: the conditional test with factor 1. None when not asked for
    or when there is no stable baseline to compare with."""
    if not s.only_if_worse_than_stable or not isinstance(stable, WindowStats):
        return None
    if stable.requests < min_requests:
        return None
    share = canary.requests / (canary.requests + stable.requests)
    return log_e_above(canary_events + stable_events, canary_events, share)


def assess_error_absolute(
    rule: SloRule, s: SequentialSettings, stable: WindowStats | NoData, canary: WindowStats
) -> Assessment:
    """The canary's error rate against the bound: one-sample mixture SPRT."""
    bound = float(rule.threshold or 0.0)
    t = rate_test(canary.requests, canary.errors, bound, s.alpha, s.power_ratio)
    blame = None
    if t.failed:
        stable_errors = stable.errors if isinstance(stable, WindowStats) else 0
        blame = _blame(s, stable, canary, canary.errors, stable_errors, rule.min_requests)
    return Assessment(
        measured=t.rate, threshold=bound, fail_log_e=t.log_e_fail, pass_log_e=t.log_e_pass,
        within=(t.rate or 0.0) <= bound, needed=t.needed, power_requests=t.power,
        blame_log_e=blame,
        what=(f"error rate {fmt_pct(t.rate)} vs {fmt_pct(bound)} "
              f"({fmt_level(s)} anytime bounds {fmt_pct(t.lower)}..{fmt_pct(t.upper)})"),
        evidence={**_one_sample(t, "error_rate"), "method": "mixture-sprt"},
    )  # fmt: skip


def assess_latency(
    rule: SloRule, s: SequentialSettings, stable: WindowStats | NoData, canary: WindowStats
) -> Assessment | str:
    """``pq <= cutoff`` holds exactly when at most 1-q of requests are slower than the cutoff:
    the slow fraction is tested like an error rate. Relative rules take the cutoff from the
    stable's quantile over the same time (``factor ×`` or ``+ margin``, never below the floor)."""
    q = rule.quantile
    baseline = None
    if rule.comparison == "relative":
        assert isinstance(stable, WindowStats)
        baseline = stable.quantile(q)
        if baseline is None or stable.requests < max(rule.min_requests, 1):
            return f"{stable.requests} stable requests: too few for a p{100 * q:g} baseline"
        cutoff = relative_bound(rule, baseline)
    else:
        cutoff = float(rule.threshold or 0.0)
    slow = canary.slower_than(cutoff)
    t = rate_test(canary.requests, slow, 1.0 - q, s.alpha, s.power_ratio)
    blame = None
    if t.failed and rule.comparison != "relative":
        stable_slow = stable.slower_than(cutoff) if isinstance(stable, WindowStats) else 0
        blame = _blame(s, stable, canary, slow, stable_slow, rule.min_requests)
    measured = canary.quantile(q)
    exact = any(math.isclose(b, cutoff) for b, _ in canary.buckets)
    return Assessment(
        measured=measured, threshold=cutoff, baseline=baseline,
        fail_log_e=t.log_e_fail, pass_log_e=t.log_e_pass,
        within=(t.rate or 0.0) <= t.bound, needed=t.needed, power_requests=t.power,
        blame_log_e=blame,
        what=(f"p{100 * q:g} {fmt_ms(measured)} vs {fmt_ms(cutoff)}: {fmt_pct(t.rate)} of "
              f"canary requests slower than {fmt_ms(cutoff)}, at most {fmt_pct(t.bound)} "
              f"allowed ({fmt_level(s)} anytime bounds {fmt_pct(t.lower)}..{fmt_pct(t.upper)})"),
        evidence={**_one_sample(t, "slow_fraction"), "cutoff_s": cutoff, "method": "mixture-sprt",
                  "cutoff_is_bucket_bound": exact},
    )  # fmt: skip


def assess_error_relative(
    rule: SloRule, s: SequentialSettings, stable: WindowStats, canary: WindowStats
) -> Assessment | str:
    """Canary vs stable over the same time: ``factor`` × stable (conditional two-sample test)
    or stable ``+ margin`` (params["margin"]), never below the floor (``rule.threshold``)."""
    if stable.requests < max(rule.min_requests, 1):
        return f"{stable.requests} stable requests: too few for a baseline"
    if rule.factor is None:
        return _error_margin(rule, s, stable, canary)
    return _error_factor(rule, s, stable, canary, rule.factor)


def _log_mean_exp(a: float, b: float) -> float:
    return max(a, b) + math.log1p(math.exp(-abs(a - b))) - _LOG2


def _combine(within: bool, needed: int | None, other: int | None) -> int | None:
    """Requests to conclude when two tests are combined: either certifies a pass (the sooner),
    both must reject for a fail (the later)."""
    known = [g for g in (needed, other) if g is not None]
    if within:
        return min(known) if known else None
    return max(known) if len(known) == 2 else None


def _error_factor(
    rule: SloRule, s: SequentialSettings, stable: WindowStats, canary: WindowStats, k: float
) -> Assessment:
    """Conditional two-sample test: given an error happened, it is the canary's with
    probability theta = w*p_c / (w*p_c + (1-w)*p_s) (w: the canary's traffic share), and
    p_c <= k*p_s  <=>  odds(theta) <= k * odds(w). The floor is a one-sample test that must
    also reject for a fail (intersection-union); either test certifies a pass (the mean of two
    e-values is an e-value)."""
    floor = float(rule.threshold or 0.0)
    n_c, x_c, n_s, x_s = canary.requests, canary.errors, stable.requests, stable.errors
    share = n_c / (n_c + n_s)
    rel = rate_test(x_c + x_s, x_c, odds_scaled(share, k), s.alpha, s.power_ratio)
    p_c, p_s = x_c / n_c, x_s / n_s
    bound = max(k * p_s, floor)
    power = _relative_power(s, share, rel.bound, k, floor, (n_c, n_s, x_s))
    needed = None
    if rel.needed is not None and rel.trials:
        needed = math.ceil(rel.needed * n_c / rel.trials)
    fail, passed = rel.log_e_fail, rel.log_e_pass
    if floor > 0:
        flo = rate_test(n_c, x_c, floor, s.alpha, s.power_ratio, bounds=False)
        fail, passed = min(fail, flo.log_e_fail), _log_mean_exp(passed, flo.log_e_pass)
        power = None if power is None or flo.power is None else max(power, flo.power)
        needed = _combine(p_c <= bound, needed, flo.needed)
    odds_w = share / (1.0 - share)
    ratio_lo = rel.lower / (1.0 - rel.lower) / odds_w
    ratio_hi = rel.upper / (1.0 - rel.upper) / odds_w if rel.upper < 1 else None
    hi_text = "inf" if ratio_hi is None else f"{ratio_hi:.3g}"
    return Assessment(
        measured=p_c, threshold=bound, baseline=p_s, fail_log_e=fail, pass_log_e=passed,
        within=p_c <= bound, needed=needed, power_requests=power,
        what=(f"error rate {fmt_pct(p_c)} vs stable {fmt_pct(p_s)} (bound {k:g}x stable, "
              f"floor {fmt_pct(floor)}; canary/stable ratio {fmt_level(s)} anytime bounds "
              f"{ratio_lo:.3g}..{hi_text})"),
        evidence={"method": "conditional-binomial", "canary_share": share,
                  "theta0": rel.bound, "errors_canary": x_c, "errors_stable": x_s,
                  "factor": k, "floor": floor, "ratio": p_c / p_s if p_s > 0 else None,
                  "lower": ratio_lo, "upper": ratio_hi, "bounds_of": "canary/stable ratio"},
    )  # fmt: skip


def _relative_power(
    s: SequentialSettings, share: float, theta0: float, k: float, floor: float,
    counts: tuple[float, float, float],
) -> int | None:  # fmt: skip
    """Canary requests after which the conditional test would, on average, have caught a
    canary ``power_ratio`` times worse than the bound in force — ``factor`` × stable, or the
    floor when that is higher. (Powering against ``power_ratio`` × factor × stable alone would
    ask a canary far under the floor for evidence the rule does not need.)"""
    n_c, n_s, x_s = counts
    p_s = (x_s + 0.5) / (n_s + 1.0)  # stable's rate, never 0
    p_alt = min(s.power_ratio * max(k * p_s, floor), 0.5)
    odds_alt = p_alt / p_s * share / (1.0 - share)
    errors = needed_trials(odds_alt / (1.0 + odds_alt), theta0, s.alpha, above=True)
    # errors (of both versions) per canary request under that alternative
    per_request = p_alt + p_s * n_s / n_c
    return None if errors is None else math.ceil(errors / per_request)


def _error_margin(
    rule: SloRule, s: SequentialSettings, stable: WindowStats, canary: WindowStats
) -> Assessment:
    """p_c <= p_s + margin: the canary against the stable's anytime bound plus the margin,
    alpha/2 each (the "above" test weakens as its bound grows, so a bound that is too high
    only costs power). The e-values reported are halved: E >= 2/alpha is the decision."""
    margin = param_number(rule.params, "margin", 0.0, percent=True)
    floor = float(rule.threshold or 0.0)
    half = s.alpha / 2.0
    n_s, x_s = stable.requests, stable.errors
    fail_bound = min(max(upper_bound(n_s, x_s, half) + margin, floor), 1.0 - 1e-9)
    pass_bound = max(lower_bound(n_s, x_s, half) + margin, floor)
    t = rate_test(canary.requests, canary.errors, fail_bound, half, s.power_ratio)
    p_c, p_s = t.rate or 0.0, x_s / n_s
    bound = max(p_s + margin, floor)
    return Assessment(
        measured=p_c, threshold=bound, baseline=p_s,
        fail_log_e=t.log_e_fail - _LOG2,
        pass_log_e=log_e_below(canary.requests, canary.errors, pass_bound) - _LOG2,
        within=p_c <= bound, needed=t.needed, power_requests=t.power,
        what=(f"error rate {fmt_pct(p_c)} vs stable {fmt_pct(p_s)} + {fmt_pct(margin)} "
              f"(canary {fmt_level(s)} anytime bounds {fmt_pct(t.lower)}..{fmt_pct(t.upper)})"),
        evidence={**_one_sample(t, "error_rate"), "method": "mixture-sprt-vs-stable-bound",
                  "margin": margin, "floor": floor, "fail_bound": fail_bound,
                  "pass_bound": pass_bound},
    )  # fmt: skip
