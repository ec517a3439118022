"""Kill the engine at every phase (before and after each side effect), then resume it with a
new engine on the saved record: it must converge, and the record must agree with the platform."""

from __future__ import annotations

import pytest

from canaryctl.metrics.base import Target
from canaryctl.platforms.base import Weights
from canaryctl.rollout.record import status_of

# (platform method, before/after the side effect, nth call) -> phase the record is left in
HEALTHY = [
    (("describe", "before", 1), "pending"),
    (("start_canary", "before", 1), "starting_canary"),
    (("start_canary", "after", 1), "starting_canary"),
    (("wait_healthy", "before", 1), "starting_canary"),
    (("wait_healthy", "after", 1), "starting_canary"),
    (("set_weights", "before", 1), "shifting"),
    (("set_weights", "after", 1), "shifting"),
    (("describe", "after", 4), "analyzing"),  # the drift check of the 2nd analysis check
    (("promote", "before", 1), "promoting"),
    (("promote", "after", 1), "promoting"),
]
FAILING = [
    (("rollback", "before", 1), "rolling_back"),
    (("rollback", "after", 1), "rolling_back"),
]


def _consistent_promoted(harness, record):
    assert status_of(record) == "promoted"
    assert record["weights"] == {"stable": 0, "canary": 100}
    assert harness.platform.stable.version == "v2" and harness.platform.canary is None
    assert harness.platform.weights == Weights(100, 0)
    assert harness.store.holder("gamebackend") is None
    assert harness.reload()["phase"] == "promoted"


@pytest.mark.parametrize("resume", [True, False], ids=["resume", "rerun"])
@pytest.mark.parametrize(("crash", "phase"), HEALTHY, ids=[f"{c[0]}-{c[1]}" for c, _ in HEALTHY])
def test_crash_then_resume_promotes(harness, kit, crash, phase, resume):
    harness.platform.crash_at = crash
    record = harness.new()
    with pytest.raises(kit.Crash):
        harness.run(record)
    saved = harness.reload()
    assert saved["phase"] == phase
    assert harness.store.holder("gamebackend") == saved["id"]  # nobody else may start

    record = harness.run(saved, resume=resume)  # a new engine, as a new process would be
    _consistent_promoted(harness, record)
    assert harness.platform.calls.count("start_canary") <= 2  # idempotent, never a 2nd canary


@pytest.mark.parametrize(("crash", "phase"), FAILING, ids=[f"{c[0]}-{c[1]}" for c, _ in FAILING])
def test_crash_while_rolling_back_then_resume_rolls_back(harness, kit, crash, phase):
    harness.source.scripts[Target.CANARY] = kit.traffic(10.0, error_rate=0.05)
    harness.platform.crash_at = crash
    record = harness.new()
    with pytest.raises(kit.Crash):
        harness.run(record)
    saved = harness.reload()
    assert saved["phase"] == phase

    record = harness.run(saved, resume=True)
    assert status_of(record) == "rolled_back" and record["outcome"]["cause"] == "slo"
    assert record["weights"] == {"stable": 100, "canary": 0}
    assert harness.platform.canary is None and harness.platform.stable.version == "v1"
    assert harness.platform.weights == Weights(100, 0)


def test_crash_while_reading_metrics_restarts_a_fresh_window(harness, kit):
    harness.source.crash_on_call = 5
    record = harness.new()
    with pytest.raises(kit.Crash):
        harness.run(record)
    saved = harness.reload()
    assert saved["phase"] == "analyzing"
    crashed_at = harness.clock.now

    harness.clock.sleep(300)  # the process was down for 5 minutes
    record = harness.run(saved)
    _consistent_promoted(harness, record)
    restarted = [e for e in record["events"] if "restarted" in e["message"]]
    assert len(restarted) == 1
    # every window judged after the restart lies after it: no stale history is trusted
    later = [v for v in record["verdicts"] if v["t"] > crashed_at]
    assert min(v["window"][0] for v in later) >= crashed_at + 300


def test_crash_while_paused_then_resume(make_harness, kit):
    steps = (kit.StepSpec("set_weight", weight=10), kit.StepSpec("pause"))
    h = make_harness(plan=kit.make_plan(steps=steps))
    record = h.run()
    assert status_of(record) == "paused"
    record = h.run(h.reload(), resume=True)
    assert status_of(record) == "promoted"
