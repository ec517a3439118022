"""The rollout engine against an in-memory platform and scripted metrics."""

from __future__ import annotations

import pytest

from canaryctl.errors import InvalidInput, LockHeld
from canaryctl.metrics.base import Target
from canaryctl.platforms.base import Weights
from canaryctl.rollout.record import exit_code, status_of


def outcomes(record, slo, check="interval"):
    return [v["outcome"] for v in record["verdicts"] if v["slo"] == slo and v["check"] == check]


def test_a_healthy_canary_is_promoted(harness):
    record = harness.run(harness.new(env={"FEATURE": "on"}))

    assert status_of(record) == "promoted" and exit_code(record) == 0
    assert record["weights"] == {"stable": 0, "canary": 100}
    assert harness.platform.stable.version == "v2" and harness.platform.canary is None
    assert harness.platform.env_seen == {"FEATURE": "on"}  # --env reaches the canary only
    assert record["stable_version"] == "v1"
    # 60 s window checked every 10 s: 6 interval checks per SLO + one whole-window check
    assert outcomes(record, "all.error_rate") == ["pass"] * 6
    assert outcomes(record, "all.p95", "final") == ["pass"]
    final = [v for v in record["verdicts"] if v["check"] == "final"]
    assert {v["window"][1] - v["window"][0] for v in final} == {60.0}
    steps = record["steps"]
    assert [s["kind"] for s in steps] == ["set_weight", "analyze", "promote"]
    assert all(s["start"] is not None and s["end"] is not None for s in steps)
    assert steps[1]["weight"] == 10
    assert harness.store.holder("gamebackend") is None  # the lock is released
    assert harness.reload()["phase"] == "promoted"  # and the record is on disk
    assert harness.hooks.started == [] and harness.platform.calls[:2] == [
        "describe",
        "start_canary",
    ]


def test_canary_errors_roll_back_after_the_failure_limit(harness, kit):
    harness.source.scripts[Target.CANARY] = kit.traffic(10.0, error_rate=0.05)
    record = harness.run()

    assert status_of(record) == "rolled_back" and exit_code(record) == 3
    assert record["outcome"]["cause"] == "slo"
    assert "all.error_rate failed 2 checks (limit 2)" in record["reason"]
    assert outcomes(record, "all.error_rate") == ["fail", "fail"]  # stopped at the 2nd check
    assert record["weights"] == {"stable": 100, "canary": 0}
    assert harness.platform.weights == Weights(100, 0) and harness.platform.canary is None
    assert harness.platform.stable.version == "v1"
    assert harness.clock.now - kit.T0 == pytest.approx(20.0)  # not the whole 60 s window


def test_canary_latency_rolls_back_on_p95(harness, kit):
    harness.source.scripts[Target.CANARY] = kit.traffic(10.0, latency_s=0.4)
    record = harness.run()

    assert status_of(record) == "rolled_back"
    failing = {v["slo"] for v in record["verdicts"] if v["outcome"] == "fail"}
    assert failing == {"all.p95", "all.relative.p95"}
    p95 = next(v for v in record["verdicts"] if v["slo"] == "all.p95")
    assert p95["measured"] > 0.25 and p95["threshold"] == 0.25


def test_relative_bound_catches_a_slower_canary_under_the_absolute_bound(harness, kit):
    # 100 ms vs stable's 40 ms: within 250 ms, but 2.5x stable
    harness.source.scripts[Target.CANARY] = kit.traffic(10.0, latency_s=0.1)
    record = harness.run()

    assert status_of(record) == "rolled_back"
    assert "all.relative.p95" in record["reason"]
    assert outcomes(record, "all.p95") == ["pass", "pass"]


def test_missing_data_rolls_back_after_its_limit_and_never_promotes(harness, kit):
    harness.source.scripts[Target.CANARY] = kit.no_data("prometheus unreachable")
    record = harness.run()

    assert status_of(record) == "rolled_back"
    assert record["outcome"]["cause"] == "missing_data"
    assert "no data for 3 checks in a row" in record["reason"]
    assert "prometheus unreachable" in record["reason"]
    assert outcomes(record, "all.error_rate") == ["error"] * 3
    assert harness.platform.stable.version == "v1"


def test_missing_data_at_the_end_of_the_window_is_never_a_promotion(harness, kit):
    # Data stops 5 s before the window ends: too few checks for the limit, but the
    # whole-window check has no data either.
    end = kit.T0 + 60.0
    harness.source.scripts[Target.CANARY] = kit.switch(end - 5, kit.traffic(10.0), kit.no_data())
    record = harness.run()

    assert status_of(record) == "rolled_back"
    assert "over the whole 1m window" in record["reason"]
    assert harness.platform.stable.version == "v1"


def test_missing_data_action_pause_stops_with_exit_4(make_harness, kit):
    h = make_harness(plan=kit.make_plan(rules=kit.make_rules(missing_action="pause")))
    h.source.scripts[Target.CANARY] = kit.no_data()
    record = h.run()

    assert status_of(record) == "paused" and exit_code(record) == 4
    assert h.platform.weights == Weights(90, 10)  # a person decides; traffic stays
    assert h.store.holder("gamebackend") == record["id"]  # still in charge of the service


def test_too_little_canary_traffic_is_inconclusive_and_pauses(harness, kit):
    harness.source.scripts[Target.CANARY] = kit.traffic(0.5)  # 30 requests in 60 s
    record = harness.run()

    assert status_of(record) == "paused" and exit_code(record) == 4
    assert "needs about 20 more canary requests" in record["reason"]
    assert set(outcomes(record, "all.error_rate")) == {"inconclusive"}


def test_a_blip_under_the_failure_limit_does_not_roll_back(make_harness, kit):
    h = make_harness(plan=kit.make_plan(rules=kit.make_rules(failure_limit=2)))
    bad = kit.switch(kit.T0 + 20, kit.traffic(10.0), kit.traffic(10.0, error_rate=0.05))
    h.source.scripts[Target.CANARY] = kit.switch(kit.T0 + 30, bad, kit.traffic(10.0))
    record = h.run()

    assert outcomes(record, "all.error_rate").count("fail") == 1
    assert status_of(record) == "promoted"  # 0.83% over the whole window is within 1%


def test_failure_limit_one_rolls_back_on_the_first_failure(make_harness, kit):
    h = make_harness(plan=kit.make_plan(rules=kit.make_rules(failure_limit=1)))
    bad = kit.switch(kit.T0 + 20, kit.traffic(10.0), kit.traffic(10.0, error_rate=0.05))
    h.source.scripts[Target.CANARY] = kit.switch(kit.T0 + 30, bad, kit.traffic(10.0))
    record = h.run()

    assert status_of(record) == "rolled_back"
    assert outcomes(record, "all.error_rate") == ["pass", "pass", "fail"]  # the bad 20–30 s


def test_an_unhealthy_canary_is_rolled_back(harness):
    harness.platform.healthy = False
    record = harness.run()

    assert status_of(record) == "rolled_back" and record["outcome"]["cause"] == "unhealthy"
    assert "did not start" in record["reason"]
    assert harness.platform.canary is None and harness.platform.calls[-1] == "rollback"


def test_no_stable_task_set_fails_before_any_change(harness):
    harness.platform.stable = None
    with pytest.raises(InvalidInput, match="no stable task set"):
        harness.run()
    record = harness.reload()
    assert record["phase"] == "failed" and harness.store.holder("gamebackend") is None
    assert harness.platform.calls == ["describe"]


def test_deploying_the_stable_version_changes_nothing_and_succeeds(harness):
    record = harness.run(harness.new(version="v1"))

    assert (status_of(record), exit_code(record)) == ("unchanged", 0)
    assert record["reason"] == "version v1 is already the stable version; nothing changed"
    assert record["stable_version"] == "v1" and record["finished_at"] is not None
    assert harness.platform.calls == ["describe"]  # no task set started, no weight changed
    assert harness.store.holder("gamebackend") is None
    assert harness.reload()["phase"] == "unchanged"


def test_lock_held_by_another_deployment_is_refused_naming_it(harness):
    harness.store.acquire("gamebackend", "gamebackend-other-1234")
    with pytest.raises(LockHeld, match="gamebackend-other-1234"):
        harness.run()
    assert harness.platform.calls == []  # refused before touching anything


def test_abort_from_another_process_rolls_back(harness):
    record = harness.new()
    harness.clock.at(
        harness.clock.now + 15,
        lambda: harness.store.post_request(record["id"], {"action": "abort", "by": "ops@laptop"}),
    )
    record = harness.run(record)

    assert status_of(record) == "rolled_back" and record["outcome"]["cause"] == "aborted"
    assert record["reason"] == "aborted by ops@laptop"
    assert [r["action"] for r in record["requests"]] == ["abort"]
    assert record["requests"][0]["result"] == "rolling back"
    assert harness.clock.now - record["created_at"] < 17  # acted within a poll second
    assert harness.platform.stable.version == "v1"


def test_promote_now_skips_the_rest_of_the_window(harness):
    record = harness.new()
    harness.clock.at(
        harness.clock.now + 12,
        lambda: harness.store.post_request(record["id"], {"action": "promote", "by": "lead"}),
    )
    record = harness.run(record)

    assert status_of(record) == "promoted" and record["reason"] == "promoted by lead"
    assert harness.clock.now - record["created_at"] < 14
    assert harness.platform.stable.version == "v2"


def test_pause_then_resume_requests_with_wait(harness):
    record = harness.new()
    post = harness.store.post_request
    harness.clock.at(harness.clock.now + 15, lambda: post(record["id"], {"action": "pause"}))
    harness.clock.at(harness.clock.now + 100, lambda: post(record["id"], {"action": "resume"}))
    record = harness.run(record, wait_on_pause=True)

    assert status_of(record) == "promoted"
    assert [r["result"] for r in record["requests"]] == ["paused", "resumed"]
    # the analysis restarted after the pause: a full 60 s window after t+100
    assert harness.clock.now - record["created_at"] >= 160


def test_pause_without_wait_exits_4_and_resume_finishes(harness):
    record = harness.new()
    harness.clock.at(
        harness.clock.now + 15,
        lambda: harness.store.post_request(record["id"], {"action": "pause", "by": "x"}),
    )
    record = harness.run(record)
    assert status_of(record) == "paused" and exit_code(record) == 4
    assert harness.platform.weights == Weights(90, 10)

    record = harness.run(harness.reload(), resume=True)
    assert status_of(record) == "promoted"


def test_pause_step_waits_for_a_person(make_harness, kit):
    steps = (
        kit.StepSpec("set_weight", weight=10),
        kit.StepSpec("analyze", duration_s=30.0, interval_s=10.0),
        kit.StepSpec("pause"),
        kit.StepSpec("set_weight", weight=50),
        kit.StepSpec("analyze", duration_s=30.0, interval_s=10.0),
    )
    h = make_harness(plan=kit.make_plan(steps=steps))
    record = h.run()
    assert status_of(record) == "paused" and record["reason"] == "pause step"
    assert h.platform.weights == Weights(90, 10)

    record = h.run(h.reload(), resume=True)
    assert status_of(record) == "promoted"  # no promote step: promoted after the last step
    assert [s["weight"] for s in record["steps"] if s["kind"] == "analyze"] == [10, 50]


def test_timed_pause_step_continues_by_itself(make_harness, kit):
    steps = (kit.StepSpec("set_weight", weight=20), kit.StepSpec("pause", duration_s=45.0))
    h = make_harness(plan=kit.make_plan(steps=steps))
    record = h.run()
    assert status_of(record) == "promoted"
    assert h.clock.now - record["created_at"] == pytest.approx(45.0)


def test_traffic_drift_pauses(harness):
    record = harness.new()

    def someone_else() -> None:
        harness.platform.weights = Weights(50, 50)

    harness.clock.at(harness.clock.now + 5, someone_else)
    record = harness.run(record)
    assert status_of(record) == "paused" and "traffic drift" in record["reason"]
    assert harness.platform.weights == Weights(50, 50)  # canaryctl did not fight it


def test_hooks_run_during_analysis_only(make_harness, kit):
    h = make_harness(plan=kit.make_plan(load_hooks=(kit.LoadHookSpec("steady", 30.0),)))
    record = h.run()
    assert status_of(record) == "promoted"
    assert h.hooks.started == [(1, 60.0)] and h.hooks.stopped == 1


def test_rollback_that_keeps_failing_ends_failed_keeps_the_lock_and_can_be_retried(harness, kit):
    harness.source.scripts[Target.CANARY] = kit.traffic(10.0, error_rate=0.05)
    harness.platform.failures["rollback"] = 3
    record = harness.run()
    assert status_of(record) == "failed" and exit_code(record) == 1
    assert record["failed"]["during"] == "rolling_back"
    assert harness.store.holder("gamebackend") == record["id"]
    assert harness.platform.canary is not None  # still there: nobody pretends otherwise

    record = harness.run(harness.reload(), resume=True)
    assert status_of(record) == "rolled_back" and harness.platform.canary is None


def test_transient_platform_errors_are_retried(harness):
    harness.platform.failures["promote"] = 2
    record = harness.run()
    assert status_of(record) == "promoted"
    assert harness.platform.calls.count("promote") == 3


def test_a_takeover_engine_carries_out_a_pending_abort(harness, kit):
    harness.source.crash_on_call = 3  # dies mid-analysis, leaving 10% on the canary
    record = harness.new()
    with pytest.raises(kit.Crash):
        harness.run(record)
    saved = harness.reload()
    assert saved["phase"] == "analyzing" and harness.platform.weights == Weights(90, 10)

    harness.store.post_request(saved["id"], {"action": "abort", "by": "oncall"})
    record = harness.run(saved)
    assert status_of(record) == "rolled_back" and record["reason"] == "aborted by oncall"
    assert harness.platform.canary is None


def _with_wallet_rule(kit, required: bool):
    wallet = kit.RuleSpec(
        kit.SloRule("wallet.error_rate", "error_rate", route_class="wallet", threshold=0.01,
                    min_requests=20),
        required=required,
    )  # fmt: skip
    return kit.make_plan(rules=(*kit.make_rules(), wallet))


def _canary_without_wallet_traffic(kit, wallet):
    every = kit.traffic(10.0)
    return lambda s, e, route: wallet(s, e, route) if route == "wallet" else every(s, e, route)


def test_a_not_required_slo_without_traffic_does_not_hold_the_promotion(make_harness, kit):
    h = make_harness(plan=_with_wallet_rule(kit, required=False))
    h.source.scripts[Target.CANARY] = _canary_without_wallet_traffic(kit, kit.no_data("none"))
    record = h.run()
    assert status_of(record) == "promoted"
    assert set(outcomes(record, "wallet.error_rate")) == {"error"}  # recorded, not hidden
    assert record["counters"]["wallet.error_rate"]["missing"] == 0


def test_a_not_required_slo_can_still_fail_the_canary(make_harness, kit):
    h = make_harness(plan=_with_wallet_rule(kit, required=False))
    bad = kit.traffic(3.0, error_rate=0.5)
    h.source.scripts[Target.CANARY] = _canary_without_wallet_traffic(kit, bad)
    record = h.run()
    assert status_of(record) == "rolled_back" and "wallet.error_rate" in record["reason"]


def test_a_required_slo_without_traffic_never_promotes(make_harness, kit):
    h = make_harness(plan=_with_wallet_rule(kit, required=True))
    h.source.scripts[Target.CANARY] = _canary_without_wallet_traffic(kit, kit.no_data("none"))
    record = h.run()
    assert status_of(record) == "rolled_back" and record["outcome"]["cause"] == "missing_data"


def test_a_decided_sequential_fail_rolls_back_at_once_despite_the_failure_limit(make_harness, kit):
    from canaryctl.analysis.base import SloRule

    rule = kit.RuleSpec(
        SloRule(
            "all.error_rate", "error_rate", threshold=0.01, min_requests=50, judge="sequential"
        ),
        failure_limit=2,
        missing_limit=3,
        missing_action="rollback",
    )
    h = make_harness(plan=kit.make_plan(rules=(rule,)))
    h.source.scripts[Target.CANARY] = kit.traffic(10.0, error_rate=0.10)
    record = h.run()

    assert status_of(record) == "rolled_back" and exit_code(record) == 3
    assert "decided regression" in record["reason"]
    # one failed (decided) check was enough: the failure limit of 2 is for fixed-window judges
    assert outcomes(record, "all.error_rate", check="interval").count("fail") == 1
    assert record["weights"] == {"stable": 100, "canary": 0}
