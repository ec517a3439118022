"""Canary capacity follows its traffic, end to end on moto with the AWS-behaviour layer on: a
10 → 50 → 100 pipeline, every write canaryctl makes recorded through botocore's events with
the task sets as the layer then knew them (its scale, and whether ECS had caught up)."""

from __future__ import annotations

import json
from typing import Any

import pytest

pytestmark = pytest.mark.e2e

Staging = Any  # conftest's Staging (shared through fixtures, not imports)


def test_the_canary_is_scaled_up_before_each_weight_and_promoted_at_full_scale(
    staging: Staging, recording: Any
) -> None:
    log = staging.record_writes()
    good = recording(staging.tmp / "good.jsonl", 60, canary_error_rate=0.0, canary_slow=0.0)
    rest = f"""\
metrics: {{type: replay, path: {good.name}, speed: max}}
steps:
  - setWeight: 10
  - analyze: {{}}
  - setWeight: 50
  - analyze: {{}}
  - promote: {{}}
"""
    path = staging.write_pipeline(staging.policy(), rest)  # canaryScalePercent: 25, the minimum
    code, outcome, stderr = staging.deploy(path, "1.1.0")
    assert code == 0, stderr
    assert outcome["phase"] == "promoted"

    writes = [json.loads(line) for line in log.read_text().splitlines()]
    created = writes[0]
    assert (created["op"], created["externalId"], created["scale"]) == (
        "CreateTaskSet",
        "canaryctl/1.1.0",
        25.0,
    )
    canary_arn = next(
        t["arn"] for t in writes[1]["task_sets"] if t["externalId"] == "canaryctl/1.1.0"
    )

    def canary_at(write: dict[str, Any]) -> tuple[float, bool]:
        [ts] = [t for t in write["task_sets"] if t["arn"] == canary_arn]
        return ts["scale"], ts["settled"]

    def step(write: dict[str, Any]) -> tuple[Any, ...]:
        if write["op"] == "ModifyListener":
            weights = write["weights"]
            return ("weights", weights[staging.blue], weights[staging.green], canary_at(write))
        if write["op"] == "UpdateTaskSet":
            who = "canary" if write["taskSet"] == canary_arn else "stable"
            return ("scale", who, write["scale"])
        return (write["op"],)

    assert [step(w) for w in writes[1:]] == [
        ("weights", 90, 10, (25.0, True)),  # the minimum serves 10%: steady before traffic
        ("scale", "canary", 50.0),  # up to 50% before the weight goes to 50
        ("weights", 50, 50, (50.0, True)),  # ... and steady there when it does
        ("scale", "canary", 100.0),  # promotion: the new primary at 100%
        ("weights", 0, 100, (100.0, True)),  # serving at full scale before it takes it all
        ("scale", "stable", 0.0),  # only then the old one drains
        ("UpdateServicePrimaryTaskSet",),
        ("DeleteTaskSet",),
    ]
    [primary] = staging.task_sets()
    assert (primary["externalId"], primary["scale"]["value"]) == ("canaryctl/1.1.0", 100.0)
