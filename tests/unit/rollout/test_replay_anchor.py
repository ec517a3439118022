"""The engine anchors a replayed recording at the moment the canary first got traffic, so a
deployment resumed by a new process continues the recording instead of starting it over."""

from __future__ import annotations

from typing import Any

import pytest

from canaryctl.metrics.base import Target, WindowStats
from canaryctl.metrics.replay import Interval, ReplaySource
from canaryctl.metrics.routes import LATENCY_BUCKETS


def recording(bad_after: float) -> list[Interval]:
    """10-second intervals to t=300: the canary answers 5% errors after ``bad_after``."""
    out = []
    for t in range(10, 301, 10):
        for target, n in ((Target.STABLE, 900), (Target.CANARY, 100)):
            errors = 5 if target is Target.CANARY and t > bad_after else 0
            stats = WindowStats.from_latencies([0.04] * n, errors, LATENCY_BUCKETS)
            out.append(Interval(float(t), target, None, stats))
    return out


@pytest.fixture
def replay_harness(harness: Any) -> Any:
    harness.source = ReplaySource(recording(bad_after=60.0), path="rec.jsonl")
    return harness


def test_the_recording_starts_when_the_canary_gets_traffic(replay_harness, kit):
    replay_harness.clock.now += 7.0  # the canary starts 7 s after the deployment
    record = replay_harness.run()
    assert record["traffic_at"] == kit.T0 + 7.0
    assert replay_harness.source.t0 == kit.T0 + 7.0
    # the 60 s window sees offsets (0, 60]: all good
    assert record["phase"] == "promoted"


def test_a_resumed_deployment_continues_the_recording(replay_harness, kit):
    replay_harness.platform.crash_at = ("describe", "after", 4)  # before the 2nd check
    with pytest.raises(kit.Crash):
        replay_harness.run()
    saved = replay_harness.reload()
    assert (saved["phase"], saved["traffic_at"]) == ("analyzing", kit.T0)

    replay_harness.clock.now += 30.0  # a new process, 50 s after the canary got traffic
    replay_harness.source = ReplaySource(recording(bad_after=60.0), path="rec.jsonl")
    record = replay_harness.run(saved)

    # The restarted 60 s window reads offsets (50, 110]: the canary's errors after t=60 are
    # seen. Started over at 0 it would have read (0, 60] and promoted a bad canary.
    assert replay_harness.source.t0 == kit.T0
    assert record["phase"] == "rolled_back"
    assert record["reason"].startswith("all.error_rate failed 2 checks")
    failing = [v for v in record["verdicts"] if v["outcome"] == "fail"]
    assert failing[0]["t"] - kit.T0 == 70.0


def test_sources_without_anchor_are_left_alone(harness):
    assert not hasattr(harness.source, "anchor")
    assert harness.run()["phase"] == "promoted"
