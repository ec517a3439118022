"""EcsPlatform against moto's server over HTTP: the canary life cycle, drift, idempotency,
resuming after a crash at each step, and throttling."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from canaryctl.errors import PlatformError, TrafficDrift
from canaryctl.platforms.base import CanarySpec, Weights
from canaryctl.platforms.ecs.platform import EcsPlatform

pytestmark = pytest.mark.integration

MakePlatform = Callable[..., EcsPlatform]
EcsWorld = Any  # conftest's EcsWorld: builders are shared through fixtures, not imports
Throttler = Any


def _non_primary(world: EcsWorld) -> list[dict[str, Any]]:
    return [t for t in world.task_sets() if t["status"] != "PRIMARY"]


def _primary(world: EcsWorld) -> dict[str, Any]:
    return next(t for t in world.task_sets() if t["status"] == "PRIMARY")


def _revisions(world: EcsWorld) -> list[str]:
    return list(world.ecs.list_task_definitions(familyPrefix="gamebackend")["taskDefinitionArns"])


def test_start_canary_registers_a_revision_and_uses_the_idle_target_group(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    platform = make_platform()
    canary = platform.start_canary(CanarySpec(version="1.1.0", env={"FEATURE_X": "on"}))

    [ts] = _non_primary(world)
    assert canary.version == "1.1.0" and canary.role == "canary"
    assert ts["externalId"] == "canaryctl/1.1.0"
    assert ts["loadBalancers"][0]["targetGroupArn"] == world.green
    assert ts["scale"] == {"value": 25.0, "unit": "PERCENT"}
    assert ts["launchType"] == "FARGATE"
    td = world.ecs.describe_task_definition(taskDefinition=ts["taskDefinition"])["taskDefinition"]
    app = td["containerDefinitions"][0]
    assert app["image"] == f"{world.image_repo}:1.1.0"
    env = {e["name"]: e["value"] for e in app["environment"]}
    assert env == {"LOG_LEVEL": "info", "FEATURE_X": "on"}
    state = platform.describe()
    assert state.stable is not None and state.stable.version == "1.0.0"
    assert state.weights == Weights(100, 0)
    assert world.weights() == {world.blue: 100, world.green: 0}


def test_start_canary_twice_reuses_the_task_set_and_the_revision(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    first = make_platform().start_canary(CanarySpec(version="1.1.0"))
    revisions = _revisions(world)
    again = make_platform().start_canary(CanarySpec(version="1.1.0"))  # a resumed deploy

    assert again.id == first.id
    assert len(_non_primary(world)) == 1
    assert _revisions(world) == revisions


def test_a_canary_of_another_version_is_refused(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    make_platform().start_canary(CanarySpec(version="1.1.0"))
    with pytest.raises(PlatformError, match=r"canary of version 1\.1\.0 is already running"):
        make_platform().start_canary(CanarySpec(version="2.0.0"))
    assert [t["externalId"] for t in _non_primary(world)] == ["canaryctl/1.1.0"]


def test_a_given_task_definition_is_used_as_is(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    revisions = _revisions(world)
    make_platform().start_canary(
        CanarySpec(version="1.0.0-rc", task_definition=world.task_definition)
    )
    [ts] = _non_primary(world)
    assert ts["taskDefinition"] == world.task_definition
    assert _revisions(world) == revisions


def test_wait_healthy_and_weights_read_back(world: EcsWorld, make_platform: MakePlatform) -> None:
    platform = make_platform()
    platform.start_canary(CanarySpec(version="1.1.0"))
    healthy = platform.wait_healthy(5)
    assert healthy.healthy and healthy.version == "1.1.0"

    assert platform.set_weights(Weights(90, 10), expected=Weights(100, 0)) == Weights(90, 10)
    assert world.weights() == {world.blue: 90, world.green: 10}
    stickiness = world.forward()["ForwardConfig"]["TargetGroupStickinessConfig"]
    assert stickiness == {"Enabled": True, "DurationSeconds": 600}
    # the same call again (a step retried after a crash) converges: no drift, no write
    assert platform.set_weights(Weights(90, 10), expected=Weights(100, 0)) == Weights(90, 10)
    assert make_platform().describe().weights == Weights(90, 10)


def test_weights_changed_behind_our_back_are_reported_and_left_alone(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    platform = make_platform()
    platform.start_canary(CanarySpec(version="1.1.0"))
    platform.set_weights(Weights(90, 10))
    world.set_weights_behind_our_back(blue=70, green=30)

    with pytest.raises(TrafficDrift) as caught:
        platform.set_weights(Weights(75, 25), expected=Weights(90, 10))
    assert str(caught.value) == (
        "weights are stable=70/canary=30, expected stable=90/canary=10; someone else changed them"
    )
    assert world.weights() == {world.blue: 70, world.green: 30}


def test_traffic_to_a_canary_that_does_not_exist_is_refused(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    with pytest.raises(PlatformError, match="no canary task set"):
        make_platform().set_weights(Weights(90, 10))
    assert world.weights() == {world.blue: 100, world.green: 0}


def test_promote_makes_the_new_image_primary_and_swaps_the_groups(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    platform = make_platform()
    platform.start_canary(CanarySpec(version="1.1.0"))
    platform.set_weights(Weights(90, 10))
    state = platform.promote()

    [primary] = world.task_sets()  # the old task set is gone
    assert primary["externalId"] == "canaryctl/1.1.0"
    assert primary["scale"]["value"] == 100.0
    assert world.image_of(primary["taskDefinition"]) == f"{world.image_repo}:1.1.0"
    assert world.weights() == {world.blue: 0, world.green: 100}
    assert state.stable is not None and state.stable.version == "1.1.0"
    assert state.canary is None and state.weights == Weights(100, 0)
    assert state.details["stable_target_group"] == world.green
    assert platform.promote() == state  # idempotent

    # the next release goes to blue, which is now idle
    make_platform().start_canary(CanarySpec(version="1.2.0"))
    [canary] = _non_primary(world)
    assert canary["loadBalancers"][0]["targetGroupArn"] == world.blue


def test_rollback_sends_everything_to_stable_and_deletes_the_canary(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    platform = make_platform()
    platform.start_canary(CanarySpec(version="1.1.0"))
    platform.set_weights(Weights(50, 50))
    state = platform.rollback()

    assert [t["taskSetArn"] for t in world.task_sets()] == [world.primary_arn]
    assert world.weights() == {world.blue: 100, world.green: 0}
    assert state.canary is None and state.weights == Weights(100, 0)
    assert make_platform().rollback() == state  # idempotent, safe without a canary


def test_resume_after_canary_created_but_weights_not_set(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    make_platform().start_canary(CanarySpec(version="1.1.0"))  # then the process dies
    resumed = make_platform()
    canary = resumed.start_canary(CanarySpec(version="1.1.0"))
    assert resumed.set_weights(Weights(90, 10), expected=Weights(100, 0)) == Weights(90, 10)
    assert resumed.describe().canary is not None
    assert resumed.describe().canary.id == canary.id  # type: ignore[union-attr]


def _promote_steps_by_hand(world: EcsWorld, canary_arn: str, *, switch_primary: bool) -> None:
    """What a promotion killed half-way leaves: traffic moved and the old set scaled to 0,
    and (``switch_primary``) the canary already made primary."""
    world.set_weights_behind_our_back(blue=0, green=100)
    world.ecs.update_task_set(
        cluster=world.cluster,
        service=world.service,
        taskSet=world.primary_arn,
        scale={"value": 0.0, "unit": "PERCENT"},
    )
    if switch_primary:
        world.ecs.update_service_primary_task_set(
            cluster=world.cluster, service=world.service, primaryTaskSet=canary_arn
        )


@pytest.mark.parametrize("switch_primary", [False, True])
def test_resume_a_half_done_promotion(
    world: EcsWorld, make_platform: MakePlatform, switch_primary: bool
) -> None:
    make_platform().start_canary(CanarySpec(version="1.1.0"))
    world.ecs.update_task_set(
        cluster=world.cluster,
        service=world.service,
        taskSet=_non_primary(world)[0]["taskSetArn"],
        scale={"value": 100.0, "unit": "PERCENT"},
    )
    _promote_steps_by_hand(
        world, _non_primary(world)[0]["taskSetArn"], switch_primary=switch_primary
    )

    state = make_platform().promote()

    [primary] = world.task_sets()
    assert primary["externalId"] == "canaryctl/1.1.0"
    assert world.weights() == {world.blue: 0, world.green: 100}
    assert state.stable is not None and state.stable.version == "1.1.0"


def test_rollback_after_a_promotion_began_scales_stable_back_up_first(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    make_platform().start_canary(CanarySpec(version="1.1.0"))
    canary_arn = _non_primary(world)[0]["taskSetArn"]
    _promote_steps_by_hand(world, canary_arn, switch_primary=False)

    make_platform().rollback()

    [primary] = world.task_sets()
    assert primary["taskSetArn"] == world.primary_arn
    assert primary["scale"]["value"] == 100.0
    assert world.weights() == {world.blue: 100, world.green: 0}


def test_a_listener_rule_is_driven_and_the_default_action_left_alone(
    world: EcsWorld, make_platform: MakePlatform
) -> None:
    rule = world.elbv2.create_rule(
        ListenerArn=world.listener_arn,
        Priority=10,
        Conditions=[{"Field": "path-pattern", "Values": ["/v1/*"]}],
        Actions=[{"Type": "forward", "TargetGroupArn": world.blue}],  # single-group form
    )["Rules"][0]["RuleArn"]
    platform = make_platform(listener_arn=None, listener_rule_arn=rule)
    platform.start_canary(CanarySpec(version="1.1.0"))

    assert platform.describe().weights == Weights(100, 0)
    platform.set_weights(Weights(80, 20))

    [action] = world.elbv2.describe_rules(RuleArns=[rule])["Rules"][0]["Actions"]
    groups = {g["TargetGroupArn"]: g["Weight"] for g in action["ForwardConfig"]["TargetGroups"]}
    assert groups == {world.blue: 80, world.green: 20}
    assert world.weights() == {world.blue: 100, world.green: 0}
    assert platform.load_balancer_dimension == world.lb_arn.split("loadbalancer/")[1]


def _life_cycle(world: EcsWorld, platform: EcsPlatform) -> None:
    platform.start_canary(CanarySpec(version="1.1.0"))
    platform.wait_healthy(5)
    platform.set_weights(Weights(90, 10), expected=Weights(100, 0))
    platform.set_weights(Weights(50, 50), expected=Weights(90, 10))
    platform.promote()
    platform.start_canary(CanarySpec(version="1.2.0"))
    platform.set_weights(Weights(90, 10), expected=Weights(100, 0))
    platform.rollback()


def _assert_after_life_cycle(world: EcsWorld) -> None:
    [primary] = world.task_sets()
    assert primary["externalId"] == "canaryctl/1.1.0"
    assert world.weights() == {world.blue: 0, world.green: 100}


def test_throttling_short_circuited_before_botocore_retries_is_absorbed(
    world: EcsWorld, make_platform: MakePlatform, throttle_before_call: Throttler
) -> None:
    _life_cycle(world, make_platform())
    assert throttle_before_call.throttled >= 10
    assert throttle_before_call.throttled / throttle_before_call.calls == pytest.approx(0.3, 0.35)
    _assert_after_life_cycle(world)


def test_throttling_answered_over_http_is_absorbed_by_the_retry_budget(
    world: EcsWorld, make_platform: MakePlatform, throttle_before_send: Throttler
) -> None:
    # botocore's retries are off: each throttled HTTP answer costs one of canaryctl's attempts.
    platform = make_platform()
    platform.start_canary(CanarySpec(version="1.1.0"))
    platform.set_weights(Weights(90, 10), expected=Weights(100, 0))
    assert throttle_before_send.throttled >= 3
    assert [t["externalId"] for t in _non_primary(world)] == ["canaryctl/1.1.0"]
    assert world.weights() == {world.blue: 90, world.green: 10}
