"""Policy backtests on the shipped recordings, and that a backtest decides exactly as the engine
does on the same data (they share ``rollout.analysis.analysis_check``)."""

from __future__ import annotations

import random
import re
from pathlib import Path

import pytest

from canaryctl.analysis.backtest import (
    _IndexedReplay,
    load_recording,
    load_target,
    run_backtest,
)
from canaryctl.analysis.base import Outcome
from canaryctl.metrics.base import NoData, Target
from canaryctl.metrics.replay import ReplaySource
from canaryctl.rollout import analysis as an
from canaryctl.rollout.plan import Plan, StepSpec

ROOT = Path(__file__).resolve().parents[3]
RECORDINGS = ROOT / "recordings"
SEQUENTIAL = str(RECORDINGS / "sequential-policy.yaml")
THRESHOLD = str(ROOT / "policies" / "gamebackend-threshold.yaml")


def backtest(policy: str, recording: str, **kw: float):
    spec = load_target(policy)
    path = str(RECORDINGS / f"{recording}.jsonl")
    return run_backtest(
        spec.rules,
        load_recording(path),
        path=path,
        window_s=kw.get("window_s", spec.window_s),
        interval_s=kw.get("interval_s", spec.interval_s),
    )


def test_good_canary_would_be_promoted_at_the_end_of_the_window():
    result = backtest(SEQUENTIAL, "good")
    assert (result.decision, result.exit_code) == ("promote", 0)
    assert result.t == 180.0 and result.checks == 180
    assert not any(v["outcome"] == "fail" for v in result.timeline)
    # every check judged every SLO, plus nothing else (all cumulative: no extra final check)
    assert len(result.timeline) == 180 * 5


def test_error_regression_is_rolled_back_at_the_first_certain_failure():
    result = backtest(SEQUENTIAL, "error-regression")
    assert (result.decision, result.exit_code) == ("rollback", 3)
    first_fail = next(v for v in result.timeline if v["outcome"] == "fail")
    # the decision time is the check that first failed (failureLimit 1), well inside 1 minute
    assert result.t == first_fail["t"] <= 60.0
    assert first_fail["slo"].endswith("error_rate")
    assert first_fail["evidence"]["e_value"] >= 100  # 1/alpha
    assert result.reason.startswith(f"{first_fail['slo']} failed (a decided regression)")


@pytest.mark.parametrize("recording", ["latency-regression", "tail-regression"])
def test_latency_and_tail_regressions_are_caught_by_the_distribution_judge(recording):
    result = backtest(SEQUENTIAL, recording)
    assert result.exit_code == 3 and result.t <= 30.0
    failed = {v["slo"] for v in result.timeline if v["outcome"] == "fail"}
    assert "all.relative.p95" in failed  # the distribution judge's rule


def test_low_traffic_is_inconclusive_with_an_estimate_of_the_traffic_needed():
    result = backtest(SEQUENTIAL, "low-traffic")
    assert (result.decision, result.exit_code, result.kind) == ("pause", 4, "inconclusive")
    assert result.t == 180.0
    match = re.search(
        r"needs about ([\d,]+) more canary requests \(about (\d+)s at the current rate\)",
        result.reason,
    )
    assert match, result.reason
    needed, seconds = int(match.group(1).replace(",", "")), int(match.group(2))
    # 355 canary requests in 180 s: about 2 per second
    assert needed > 0 and seconds == pytest.approx(needed / (355 / 180), abs=2)
    assert "more canary requests" not in result.reason.split("at the current rate)")[1]


def test_the_fixed_window_policy_is_noisier_on_the_same_recordings():
    # The fixed-window policy: a single error among ~35 wallet requests in 10 s fails
    # wallet.error_rate (0.5%), twice in the good recording; and low traffic is promoted on a
    # final check of the whole window although almost no 10 s check had enough requests.
    good = backtest(THRESHOLD, "good")
    assert good.exit_code == 3 and good.reason.startswith("wallet.error_rate failed 2 checks")
    low = backtest(THRESHOLD, "low-traffic")
    assert low.exit_code == 0 and low.t == 120.0
    checks = [v for v in low.timeline if v["slo"] == "all.error_rate"]
    assert sum(v["outcome"] == "inconclusive" for v in checks if v["check"] == "interval") >= 10
    final = [v for v in low.timeline if v["check"] == "final"]
    assert len(final) == 11 and all(v["outcome"] == "pass" for v in final)
    assert all(v["window"] == [0.0, 120.0] for v in final)


def test_a_shorter_interval_changes_the_timing():
    result = backtest(THRESHOLD, "error-regression", interval_s=5.0)
    fails = [v["t"] for v in result.timeline if v["slo"] == "all.error_rate" and
             v["outcome"] == "fail"]  # fmt: skip
    assert result.exit_code == 3 and result.t == fails[1] <= 20.0  # the 2nd failed 5 s check
    checks = sorted({v["t"] for v in result.timeline})
    assert checks == [5.0 * k for k in range(1, round(result.t / 5) + 1)]


def test_backtest_decides_as_the_engine_does_on_the_same_recording(harness):
    spec = load_target(SEQUENTIAL)
    path = str(RECORDINGS / "error-regression.jsonl")
    expected = run_backtest(
        spec.rules, load_recording(path), path=path, window_s=180.0, interval_s=1.0
    )
    harness.plan = Plan(
        service="gamebackend",
        steps=(
            StepSpec("set_weight", weight=10),
            StepSpec("analyze", duration_s=180.0, interval_s=1.0),
            StepSpec("promote"),
        ),
        rules=spec.rules,
    )
    harness.source = ReplaySource.load(path)
    record = harness.run()
    assert record["phase"] == "rolled_back"
    start = record["steps"][1]["start"]
    engine = [(v["slo"], v["outcome"], v["measured"], v["t"] - start) for v in record["verdicts"]]
    mine = [(v["slo"], v["outcome"], v["measured"], v["t"]) for v in expected.timeline]
    assert engine == mine
    assert record["reason"] == expected.reason


def test_final_check_rejudges_interval_rules_over_the_whole_window(kit):
    source = ReplaySource(load_recording(str(RECORDINGS / "good.jsonl")))
    source.anchor(0.0)
    rules = kit.make_rules(min_requests=20)
    seen: list[tuple[bool, list[float]]] = []
    counters: dict[str, object] = {}
    decision = None
    for now in (10.0, 20.0, 30.0):
        decision = an.analysis_check(
            rules, source, lambda name: kit_judge(name), counters,
            start=0.0, end=30.0, now=now, interval=10.0,
            on_results=lambda results, final: seen.append(
                (final, [meta["window"][0] for _, _, meta in results])),
        )  # fmt: skip
    assert decision is not None and decision.kind == "pass"
    # three interval checks on the last 10 s, then every (interval-scope) rule over [0, 30)
    assert seen == [(False, [0.0] * 3), (False, [10.0] * 3), (False, [20.0] * 3),
                    (True, [0.0] * 3)]  # fmt: skip
    assert counters["all.error_rate"] == {"checks": 3, "failures": 0, "missing": 0,
                                          "last": "pass"}  # fmt: skip


def kit_judge(name: str):
    from canaryctl.analysis import create_judge

    return create_judge(name)


def test_indexed_replay_answers_exactly_as_the_replay_source():
    intervals = load_recording(str(RECORDINGS / "low-traffic.jsonl"))
    plain, fast = ReplaySource(intervals, path="x"), _IndexedReplay(intervals, path="x")
    plain.anchor(1000.0)
    fast.anchor(1000.0)
    rng = random.Random(7)
    routes = [None, "wallet", "matchmaking", "realtime"]
    for _ in range(300):
        a = rng.uniform(-5, 190)
        b = a + rng.choice([0.5, 1, 3, 10, 60, 200])
        target = rng.choice([Target.STABLE, Target.CANARY])
        route = rng.choice(routes)
        got = fast.window(target, 1000 + a, 1000 + b, route)
        want = plain.window(target, 1000 + a, 1000 + b, route)
        assert got == want
    assert isinstance(fast.window(Target.CANARY, 1200, 1210), NoData)


def test_outcomes_map_to_what_the_engine_would_do():
    from canaryctl.analysis.backtest import _outcome

    assert _outcome(an.Decision("pass", ""), "rollback") == ("promote", 0)
    assert _outcome(an.Decision("fail", ""), "rollback") == ("rollback", 3)
    assert _outcome(an.Decision("fail", ""), "pause") == ("pause", 4)
    assert _outcome(an.Decision("missing", "", "rollback"), "pause") == ("rollback", 3)
    assert _outcome(an.Decision("missing", "", "pause"), "rollback") == ("pause", 4)
    assert _outcome(an.Decision("inconclusive", ""), "rollback") == ("pause", 4)
    assert Outcome.PASS.value == "pass"
