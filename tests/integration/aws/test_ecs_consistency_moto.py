"""EcsPlatform on moto with the AWS-behaviour layer (tests/_aws_behaviour.py), one behaviour
at a time: the platform must not trust an answer that does not show its last write yet."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from canaryctl.platforms.base import CanarySpec, Weights
from canaryctl.platforms.ecs.platform import EcsPlatform

pytestmark = pytest.mark.integration

MakePlatform = Callable[..., EcsPlatform]
EcsWorld = Any
Layer = Callable[..., Any]
NOTHING = {
    "hidden_task_set_reads": 0,
    "stale_scale_reads": 0,
    "stabilizing_reads": 0,
    "stale_primary_reads": 0,
    "stale_weight_reads": 0,
    "s3_403_for_missing_keys": False,
}


def only(**switches: Any) -> dict[str, Any]:
    return {**NOTHING, **switches}


def writes(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]


def test_a_canary_created_a_moment_ago_is_waited_for_not_rolled_back(
    world: EcsWorld, make_platform: MakePlatform, aws_behaviour: Layer
) -> None:
    aws_behaviour(**only(hidden_task_set_reads=3))
    platform = make_platform()
    started = platform.start_canary(CanarySpec(version="1.1.0"))
    healthy = platform.wait_healthy(5)
    assert healthy.id == started.id and healthy.version == "1.1.0"


def test_promotion_moves_traffic_only_once_the_canary_is_steady_at_100_percent(
    world: EcsWorld, make_platform: MakePlatform, aws_behaviour: Layer, tmp_path: Path
) -> None:
    log = tmp_path / "writes.jsonl"
    aws_behaviour(**only(stale_scale_reads=2, stabilizing_reads=2, record=str(log)))
    platform = make_platform()
    platform.start_canary(CanarySpec(version="1.1.0"))
    platform.wait_healthy(5)
    platform.set_weights(Weights(90, 10))
    platform.promote()

    shift = next(
        w for w in writes(log) if w["op"] == "ModifyListener" and w["weights"][world.green] == 100
    )
    canary = next(t for t in shift["task_sets"] if t["externalId"] == "canaryctl/1.1.0")
    assert (canary["scale"], canary["settled"]) == (100.0, True)  # ECS had caught up
    [primary] = world.task_sets()
    assert primary["externalId"] == "canaryctl/1.1.0"


def test_promotion_waits_for_the_new_primary_before_retiring_the_old_one(
    world: EcsWorld, make_platform: MakePlatform, aws_behaviour: Layer
) -> None:
    aws_behaviour(**only(stale_primary_reads=3))
    platform = make_platform()
    platform.start_canary(CanarySpec(version="1.1.0"))
    platform.set_weights(Weights(90, 10))
    state = platform.promote()

    [primary] = world.task_sets()  # the old primary was drained and deleted
    assert (primary["externalId"], primary["status"]) == ("canaryctl/1.1.0", "PRIMARY")
    assert state.stable is not None and state.stable.version == "1.1.0"
    assert state.canary is None


def test_weights_read_back_stale_for_a_moment_are_no_drift(
    world: EcsWorld, make_platform: MakePlatform, aws_behaviour: Layer
) -> None:
    aws_behaviour(**only(stale_weight_reads=3))
    platform = make_platform()
    platform.start_canary(CanarySpec(version="1.1.0"))
    assert platform.set_weights(Weights(90, 10), expected=Weights(100, 0)) == Weights(90, 10)
    assert world.weights() == {world.blue: 90, world.green: 10}
    assert platform.describe().weights == Weights(90, 10)
