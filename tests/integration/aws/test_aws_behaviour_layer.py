"""The AWS-behaviour layer itself (tests/_aws_behaviour.py): each behaviour shows on moto's
answers to canaryctl's session, lasts the reads it is set to, and then moto's truth shows."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from canaryctl import aws

pytestmark = pytest.mark.integration

EcsWorld = Any
BUCKET = "behaviour-layer"
Layer = Callable[..., Any]


def _describe(ecs: Any, world: EcsWorld, arn: str | None = None) -> dict[str, Any]:
    extra = {"taskSets": [arn]} if arn else {}
    return dict(ecs.describe_task_sets(cluster=world.cluster, service=world.service, **extra))


def _create(ecs: Any, world: EcsWorld, scale: float) -> str:
    lbs = [{"targetGroupArn": world.green, "containerName": "app", "containerPort": 8080}]
    return str(
        ecs.create_task_set(
            cluster=world.cluster,
            service=world.service,
            taskDefinition=world.task_definition,
            launchType="FARGATE",
            loadBalancers=lbs,
            networkConfiguration={
                "awsvpcConfiguration": {
                    "subnets": world.subnets,
                    "securityGroups": [world.security_group],
                }
            },
            scale={"value": scale, "unit": "PERCENT"},
        )["taskSet"]["taskSetArn"]
    )


def test_a_new_task_set_is_missing_then_stabilizing_then_steady(
    world: EcsWorld, aws_behaviour: Layer
) -> None:
    aws_behaviour(hidden_task_set_reads=2, stabilizing_reads=1)
    ecs = aws.client("ecs")
    arn = _create(ecs, world, 25.0)

    first = _describe(ecs, world, arn)
    assert first["taskSets"] == [] and first["failures"] == [{"arn": arn, "reason": "MISSING"}]
    assert arn not in [t["taskSetArn"] for t in _describe(ecs, world)["taskSets"]]
    [stabilizing] = _describe(ecs, world, arn)["taskSets"]
    assert stabilizing["stabilityStatus"] == "STABILIZING"
    assert (stabilizing["computedDesiredCount"], stabilizing["pendingCount"]) == (1, 1)
    [steady] = _describe(ecs, world, arn)["taskSets"]
    assert steady["stabilityStatus"] == "STEADY_STATE"
    assert (steady["computedDesiredCount"], steady["runningCount"]) == (1, 1)  # ceil(4 x 25%)
    assert steady["stabilityStatusAt"] > steady["updatedAt"]


def test_a_scale_change_reads_back_stale_and_steady_first(
    world: EcsWorld, aws_behaviour: Layer
) -> None:
    layer = aws_behaviour(hidden_task_set_reads=0, stale_scale_reads=2, stabilizing_reads=1)
    ecs = aws.client("ecs")
    arn = _create(ecs, world, 25.0)
    [before] = _describe(ecs, world, arn)["taskSets"]  # stabilizing
    [before] = _describe(ecs, world, arn)["taskSets"]  # steady at 25%
    written = ecs.update_task_set(
        cluster=world.cluster,
        service=world.service,
        taskSet=arn,
        scale={"value": 100.0, "unit": "PERCENT"},
    )["taskSet"]
    assert written["updatedAt"] > before["stabilityStatusAt"]
    assert not layer.settled(arn)

    for _ in range(2):
        [stale] = _describe(ecs, world, arn)["taskSets"]
        assert stale["scale"]["value"] == 25.0 and stale["computedDesiredCount"] == 1
        assert stale["stabilityStatus"] == "STEADY_STATE"
        assert stale["stabilityStatusAt"] < written["updatedAt"]
    [stabilizing] = _describe(ecs, world, arn)["taskSets"]
    assert stabilizing["stabilityStatus"] == "STABILIZING"
    [steady] = _describe(ecs, world, arn)["taskSets"]
    assert (steady["scale"]["value"], steady["computedDesiredCount"]) == (100.0, 4)
    assert steady["stabilityStatusAt"] > written["updatedAt"]
    assert layer.settled(arn)


def test_the_old_primary_and_the_old_weights_read_back_for_a_while(
    world: EcsWorld, aws_behaviour: Layer
) -> None:
    aws_behaviour(hidden_task_set_reads=0, stale_primary_reads=2, stale_weight_reads=2)
    ecs, elbv2 = aws.client("ecs"), aws.client("elbv2")
    arn = _create(ecs, world, 100.0)
    ecs.update_service_primary_task_set(
        cluster=world.cluster, service=world.service, primaryTaskSet=arn
    )
    for _ in range(2):
        statuses = {t["taskSetArn"]: t["status"] for t in _describe(ecs, world)["taskSets"]}
        assert statuses == {world.primary_arn: "PRIMARY", arn: "ACTIVE"}
    statuses = {t["taskSetArn"]: t["status"] for t in _describe(ecs, world)["taskSets"]}
    assert statuses == {world.primary_arn: "ACTIVE", arn: "PRIMARY"}

    world.set_weights_behind_our_back(blue=100, green=0)  # not through canaryctl's session
    action = world.forward()
    action["ForwardConfig"]["TargetGroups"][1]["Weight"] = 10
    action["ForwardConfig"]["TargetGroups"][0]["Weight"] = 90
    elbv2.modify_listener(ListenerArn=world.listener_arn, DefaultActions=[action])

    def weights() -> list[int]:
        listener = elbv2.describe_listeners(ListenerArns=[world.listener_arn])["Listeners"][0]
        return [g["Weight"] for g in listener["DefaultActions"][0]["ForwardConfig"]["TargetGroups"]]

    assert [weights(), weights(), weights()] == [[100, 0], [100, 0], [90, 10]]


def test_a_missing_s3_key_is_403_without_list_bucket(
    moto: str, region: str, aws_behaviour: Layer
) -> None:
    aws_behaviour()
    s3 = aws.client("s3")
    s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    with pytest.raises(s3.exceptions.ClientError) as caught:
        s3.get_object(Bucket=BUCKET, Key="nothing-here")
    assert caught.value.response["Error"]["Code"] == "AccessDenied"
    assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    s3.put_object(Bucket=BUCKET, Key="here", Body=b"x")
    assert s3.get_object(Bucket=BUCKET, Key="here")["Body"].read() == b"x"
    assert s3.list_objects_v2(Bucket=BUCKET, Prefix="nothing")["KeyCount"] == 0
