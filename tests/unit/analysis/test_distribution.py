"""The distribution judge: a changed latency tail or shape, not only a moved quantile."""

from __future__ import annotations

import pytest

from canaryctl.analysis import create_judge
from canaryctl.analysis.base import Outcome, SloRule
from canaryctl.analysis.distribution import DistributionJudge
from canaryctl.analysis.sequential import SequentialJudge
from canaryctl.errors import InvalidInput
from canaryctl.metrics.base import NoData, WindowStats
from canaryctl.metrics.routes import LATENCY_BUCKETS

judge = DistributionJudge()
SHAPE = SloRule("all.latency.shape", "latency", comparison="relative", factor=1.25,
                min_requests=100, judge="distribution", params={"alpha": 0.01})  # fmt: skip
P95_REL = SloRule("all.relative.p95", "latency", comparison="relative", quantile=0.95,
                  factor=1.2, threshold=0.05, min_requests=100, judge="sequential")  # fmt: skip


def test_registered_and_judges_cumulative_windows():
    assert isinstance(create_judge("distribution"), DistributionJudge)
    assert judge.scope == "cumulative"


def test_a_slow_tail_with_the_median_unchanged_fails(spread):
    stable, canary = spread(10_800), spread(1_200, shift_share=0.03)
    assert canary.quantile(0.5) == pytest.approx(stable.quantile(0.5), rel=0.05)
    v = judge.judge(SHAPE, stable, canary)
    assert v.outcome is Outcome.FAIL and v.evidence["decided"] is True
    assert v.evidence["focus_bound_s"] > stable.quantile(0.99)  # where it changed: the tail
    assert v.measured > 10 and v.threshold == 1.25
    assert v.evidence["lower"] > 1.25
    assert "as likely as stable to be slower than" in v.message


def test_the_tail_is_caught_sooner_than_by_a_quantile_judge(spread):
    # a few hundred canary requests in: the p95 judge cannot tell yet, the shape judge can
    stable, canary = spread(3_600), spread(400, shift_share=0.03)
    assert judge.judge(SHAPE, stable, canary).outcome is Outcome.FAIL
    assert SequentialJudge().judge(P95_REL, stable, canary).outcome is not Outcome.FAIL


def test_a_slower_canary_everywhere_fails(spread):
    v = judge.judge(SHAPE, spread(9_000), spread(1_000, scale=1.5))
    assert v.outcome is Outcome.FAIL


def test_the_same_distribution_passes_once_there_is_enough_traffic(spread):
    early = judge.judge(SHAPE, spread(1_800), spread(200))
    late = judge.judge(SHAPE, spread(108_000), spread(12_000))
    assert early.outcome is Outcome.INCONCLUSIVE and early.needed_requests
    assert late.outcome is Outcome.PASS
    assert late.evidence["ks_distance"] < 0.01


def test_a_faster_canary_is_never_flagged(spread):
    v = judge.judge(SHAPE, spread(9_000), spread(1_000, scale=0.5))
    assert v.outcome is not Outcome.FAIL
    assert v.evidence["e_value"] < 1


def test_threshold_restricts_the_test_to_the_tail(window):
    # the canary is slower only among fast requests (10 ms → 20 ms)
    stable, canary = window(9_000, latency=0.01), window(1_000, latency=0.02)
    assert judge.judge(SHAPE, stable, canary).outcome is Outcome.FAIL
    tail_only = SloRule(**{**SHAPE.__dict__, "threshold": 0.1})
    v = judge.judge(tail_only, stable, canary)
    assert v.outcome is not Outcome.FAIL
    assert all(row["le"] >= 0.1 for row in v.evidence["tails"])


def test_missing_data_on_either_side_is_an_error(window):
    assert judge.judge(SHAPE, NoData("down"), window(1_000)).outcome is Outcome.ERROR
    assert judge.judge(SHAPE, window(9_000), NoData("down")).outcome is Outcome.ERROR


def test_too_few_requests_or_different_buckets_are_inconclusive(window):
    few = judge.judge(SHAPE, window(9_000), window(60))
    assert few.outcome is Outcome.INCONCLUSIVE and few.needed_requests == 40
    other = WindowStats.from_latencies([0.04] * 1_000, 0, (0.1, 0.2))
    v = judge.judge(SHAPE, window(9_000), other)
    assert v.outcome is Outcome.INCONCLUSIVE and "bucket bounds" in v.message


def test_bad_factor_is_the_users_input_error(window):
    with pytest.raises(InvalidInput):
        judge.judge(SloRule(**{**SHAPE.__dict__, "factor": 0.5}), window(900), window(100))


def test_histogram_bounds_are_the_shared_ones(window):
    v = judge.judge(SHAPE, window(9_000), window(1_000))
    assert [row["le"] for row in v.evidence["tails"]] == list(LATENCY_BUCKETS)
