"""``canaryctl deploy`` on ECS, end to end over moto's server: the CLI in its own process,
the replay source standing in for CloudWatch, the outcome checked in ECS and ELBv2."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

Staging = Any  # conftest's Staging (shared through fixtures, not imports)


def pipeline(staging: Staging, recording: Path, window: str = "6s") -> Path:
    rest = f"""\
metrics:
  type: replay
  path: {recording.name}
steps:
  - setWeight: 10
  - analyze: {{}}
  - promote: {{}}
onFailure: rollback
"""
    return Path(staging.write_pipeline(staging.policy(window), rest))


def assert_promoted(staging: Staging) -> None:
    [primary] = staging.task_sets()  # the old task set is gone
    assert primary["status"] == "PRIMARY"
    assert primary["externalId"] == "canaryctl/1.1.0"
    assert primary["scale"]["value"] == 100.0
    assert staging.image_of(primary["taskDefinition"]).endswith("/gamebackend:1.1.0")
    assert staging.weights() == {staging.blue: 0, staging.green: 100}


def test_a_good_version_becomes_primary_at_100_percent(staging: Staging, recording: Any) -> None:
    good = recording(staging.tmp / "good.jsonl", 60, canary_error_rate=0.0, canary_slow=0.0)
    code, outcome, stderr = staging.deploy(pipeline(staging, good), "1.1.0")

    assert code == 0, stderr
    assert (outcome["phase"], outcome["exit_code"]) == ("promoted", 0)
    assert (outcome["stable_version"], outcome["canary_version"]) == ("1.0.0", "1.1.0")
    assert {s["slo"]: s["failures"] for s in outcome["slos"]} == {
        "all.error_rate": 0,
        "all.p95": 0,
    }
    assert_promoted(staging)


def test_a_bad_version_is_rolled_back_to_100_percent_stable(
    staging: Staging, recording: Any
) -> None:
    bad = recording(staging.tmp / "bad.jsonl", 60, canary_error_rate=0.1, canary_slow=0.0)
    code, outcome, stderr = staging.deploy(pipeline(staging, bad), "1.1.0")

    assert code == 3, stderr
    assert (outcome["phase"], outcome["cause"]) == ("rolled_back", "slo")
    assert outcome["reason"].startswith("all.error_rate failed")
    assert outcome["weights"] == {"stable": 100, "canary": 0}
    [primary] = staging.task_sets()  # the canary is gone
    assert primary["taskSetArn"] == staging.primary
    assert primary["externalId"] == "canaryctl/1.0.0"
    assert staging.weights() == {staging.blue: 100, staging.green: 0}


def wait_for(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def test_weights_changed_behind_its_back_pause_the_deployment(
    staging: Staging, recording: Any
) -> None:
    good = recording(staging.tmp / "good.jsonl", 120, canary_error_rate=0.0, canary_slow=0.0)
    running = staging.start_deploy(pipeline(staging, good, window="30s"), "1.1.0")
    try:
        wait_for(lambda: staging.weights() == {staging.blue: 90, staging.green: 10})
        # canaryctl has read its weights back and is analyzing: now a person steps in
        wait_for(lambda: [r["phase"] for r in staging.records()] == ["analyzing"])
        elbv2 = staging.client("elbv2")
        listener = elbv2.describe_listeners(ListenerArns=[staging.listener])["Listeners"][0]
        action = listener["DefaultActions"][0]
        action["ForwardConfig"]["TargetGroups"][0]["Weight"] = 50  # an operator, by hand
        action["ForwardConfig"]["TargetGroups"][1]["Weight"] = 50
        elbv2.modify_listener(ListenerArn=staging.listener, DefaultActions=[action])
        assert running.wait(timeout=60) == 4
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()
    [record] = staging.records()
    assert record["phase"] == "paused"
    assert "traffic drift: weights are 50/50, canaryctl set 90/10" in record["reason"]
    assert staging.weights() == {staging.blue: 50, staging.green: 50}  # left as they were
    assert len(staging.task_sets()) == 2  # nothing removed while a person decides


def test_killed_during_analysis_then_resumed_converges(staging: Staging, recording: Any) -> None:
    good = recording(staging.tmp / "good.jsonl", 120, canary_error_rate=0.0, canary_slow=0.0)
    running = staging.start_deploy(pipeline(staging, good, window="10s"), "1.1.0")
    try:
        wait_for(lambda: [r["phase"] for r in staging.records()] == ["analyzing"])
        running.send_signal(signal.SIGKILL)
        running.wait(timeout=30)
    finally:
        if running.poll() is None:
            running.kill()
            running.wait()
    [record] = staging.records()
    assert staging.weights() == {staging.blue: 90, staging.green: 10}  # as the process left it

    code, outcome, stderr = staging.run("resume", record["id"], "--output", "json")

    assert code == 0, stderr
    assert outcome["phase"] == "promoted", json.dumps(outcome)[:2000]
    assert_promoted(staging)


def test_thirty_percent_of_aws_calls_throttled_still_completes(
    staging: Staging, recording: Any
) -> None:
    log = staging.throttle_every_third_call()
    good = recording(staging.tmp / "good.jsonl", 60, canary_error_rate=0.0, canary_slow=0.0)
    code, outcome, stderr = staging.deploy(pipeline(staging, good), "1.1.0")

    assert code == 0, stderr
    assert outcome["phase"] == "promoted"
    calls = log.read_text().split("\n")[:-1]
    throttled = [c for c in calls if c.startswith("throttled ")]
    assert len(throttled) >= 10
    assert len(throttled) / len(calls) == pytest.approx(0.3, abs=0.05)
    assert_promoted(staging)
