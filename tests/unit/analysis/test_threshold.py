"""The fixed-window threshold judge: absolute and relative bounds, no data, too few requests."""

from __future__ import annotations

import pytest

from canaryctl.analysis import create_judge
from canaryctl.analysis.base import Outcome, SloRule
from canaryctl.analysis.threshold import ThresholdJudge
from canaryctl.metrics.base import NoData, WindowStats
from canaryctl.metrics.routes import LATENCY_BUCKETS


def window(n: int, errors: int = 0, latency: float = 0.04, slow: float = 0.0) -> WindowStats:
    """n requests: a share ``slow`` at 1 s, the rest at ``latency``."""
    k = round(n * slow)
    return WindowStats.from_latencies([latency] * (n - k) + [1.0] * k, errors, LATENCY_BUCKETS)


ERR = SloRule("all.error_rate", "error_rate", threshold=0.01, min_requests=50)
P95 = SloRule("all.p95", "latency", threshold=0.25, quantile=0.95, min_requests=50)
REL = SloRule("all.relative.p95", "latency", comparison="relative", factor=1.2, threshold=0.05,
              min_requests=50)  # fmt: skip
REL_ERR = SloRule("all.relative.error_rate", "error_rate", comparison="relative",
                  threshold=0.005, params={"margin": 0.005}, min_requests=50)  # fmt: skip
judge = ThresholdJudge()


def test_registered_as_the_default_judge_and_judges_each_interval():
    assert isinstance(create_judge("threshold"), ThresholdJudge)
    assert judge.scope == "interval"


@pytest.mark.parametrize(("errors", "outcome"), [(0, Outcome.PASS), (1, Outcome.PASS),
                                                 (2, Outcome.FAIL)])  # fmt: skip
def test_error_rate_against_an_absolute_bound(errors, outcome):
    v = judge.judge(ERR, window(1000), window(100, errors=errors))
    assert v.outcome is outcome
    assert v.measured == pytest.approx(errors / 100) and v.threshold == 0.01
    assert v.canary_requests == 100 and v.stable_requests == 1000
    assert v.evidence["canary"] == {"requests": 100, "errors": errors}


def test_p95_from_the_histogram():
    ok = judge.judge(P95, window(900), window(100, latency=0.04))
    slow = judge.judge(P95, window(900), window(100, slow=0.10))
    assert ok.outcome is Outcome.PASS and ok.measured <= 0.05
    assert slow.outcome is Outcome.FAIL and slow.measured > 0.75  # p95 falls in the 1 s bucket
    assert slow.baseline == pytest.approx(ok.baseline)


def test_relative_bound_is_a_factor_of_stable():
    v = judge.judge(REL, window(900, latency=0.2), window(100, latency=0.3))
    assert v.outcome is Outcome.FAIL
    assert v.threshold == pytest.approx(1.2 * v.baseline)
    assert (
        judge.judge(REL, window(900, latency=0.2), window(100, latency=0.2)).outcome is Outcome.PASS
    )


def test_relative_bound_never_below_its_floor():
    # stable at ~4 ms: 1.2x would be ~5 ms, absurdly tight; the 50 ms floor applies
    v = judge.judge(REL, window(900, latency=0.004), window(100, latency=0.03))
    assert v.outcome is Outcome.PASS and v.threshold == 0.05 and v.evidence["floor"] == 0.05


def test_relative_error_rate_allows_a_margin_over_stable():
    stable = window(1000, errors=10)  # 1%
    assert judge.judge(REL_ERR, stable, window(100, errors=1)).outcome is Outcome.PASS
    v = judge.judge(REL_ERR, stable, window(100, errors=2))
    assert v.outcome is Outcome.FAIL and v.threshold == pytest.approx(0.015)


def test_missing_canary_data_is_an_error_never_a_pass():
    v = judge.judge(ERR, window(1000), NoData("prometheus unreachable"))
    assert v.outcome is Outcome.ERROR and "prometheus unreachable" in v.message
    assert v.measured is None


def test_missing_stable_data_only_matters_for_relative_rules():
    assert judge.judge(ERR, NoData("gone"), window(100)).outcome is Outcome.PASS
    v = judge.judge(REL, NoData("gone"), window(100))
    assert v.outcome is Outcome.ERROR and "no stable data" in v.message


def test_too_few_canary_requests_is_inconclusive_with_the_number_needed():
    v = judge.judge(ERR, window(1000), window(20, errors=5))
    assert v.outcome is Outcome.INCONCLUSIVE and v.needed_requests == 30
    assert v.threshold is None  # no verdict was made against the bound


def test_zero_requests_is_inconclusive_not_zero_errors():
    empty = WindowStats(0, 0, tuple((b, 0) for b in (*LATENCY_BUCKETS, float("inf"))))
    v = judge.judge(P95, window(1000), empty)
    assert v.outcome is Outcome.INCONCLUSIVE and v.needed_requests == 50 and v.measured is None


def test_too_little_stable_traffic_for_a_baseline_is_inconclusive():
    v = judge.judge(REL, window(10), window(100))
    assert v.outcome is Outcome.INCONCLUSIVE and "needed for a baseline" in v.message
