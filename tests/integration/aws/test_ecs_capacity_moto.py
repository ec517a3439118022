"""The canary's capacity follows its weight (EcsPlatform.set_weights on moto, the AWS-behaviour
layer recording every write): up and steady before more traffic, down after less."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from canaryctl.errors import InvalidInput
from canaryctl.platforms.base import CanarySpec, Weights
from canaryctl.platforms.ecs.platform import EcsPlatform

pytestmark = pytest.mark.integration

MakePlatform = Callable[..., EcsPlatform]
EcsWorld = Any
Layer = Callable[..., Any]


def steps(log: Path, world: EcsWorld) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    for line in log.read_text().splitlines():
        write = json.loads(line)
        if write["op"] == "ModifyListener":
            out.append(("weights", write["weights"][world.green]))
        elif write["op"] == "UpdateTaskSet":
            out.append(("scale", write["scale"]))
    return out


def canary_scale(world: EcsWorld) -> float:
    [ts] = [t for t in world.task_sets() if t["status"] != "PRIMARY"]
    return float(ts["scale"]["value"])


def test_a_weight_coming_down_scales_the_canary_down_after_the_traffic(
    world: EcsWorld, make_platform: MakePlatform, aws_behaviour: Layer, tmp_path: Path
) -> None:
    log = tmp_path / "writes.jsonl"
    aws_behaviour(record=str(log))
    platform = make_platform(canary_scale_percent=10.0)
    platform.start_canary(CanarySpec(version="1.1.0"))
    platform.set_weights(Weights(50, 50))
    assert canary_scale(world) == 50.0
    platform.set_weights(Weights(80, 20), expected=Weights(50, 50))
    assert canary_scale(world) == 20.0
    platform.set_weights(Weights(95, 5), expected=Weights(80, 20))
    assert canary_scale(world) == 10.0  # never below the minimum

    assert steps(log, world) == [
        ("scale", 50.0),
        ("weights", 50),
        ("weights", 20),
        ("scale", 20.0),
        ("weights", 5),
        ("scale", 10.0),
    ]


def test_a_step_retried_after_a_crash_still_gets_its_capacity(
    world: EcsWorld, make_platform: MakePlatform, aws_behaviour: Layer
) -> None:
    aws_behaviour()
    make_platform(canary_scale_percent=10.0).start_canary(CanarySpec(version="1.1.0"))
    world.set_weights_behind_our_back(blue=60, green=40)  # as a process killed mid-step left it
    resumed = make_platform(canary_scale_percent=10.0)
    assert resumed.set_weights(Weights(60, 40), expected=Weights(100, 0)) == Weights(60, 40)
    assert canary_scale(world) == 40.0


def test_a_weight_above_the_most_the_canary_may_take_is_refused_before_any_change(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    platform = make_platform(canary_scale_percent=10.0, canary_max_scale_percent=30.0)
    platform.start_canary(CanarySpec(version="1.1.0"))
    with pytest.raises(InvalidInput, match=r"canaryMaxScalePercent \(30%\)"):
        platform.set_weights(Weights(50, 50))
    assert world.weights() == {world.blue: 100, world.green: 0}
    assert canary_scale(world) == 10.0
