"""EcsPlatform's waiting and error paths with botocore's Stubber (moto always reports task
sets as STEADY_STATE and never reports task counts, so these paths are exercised here)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from canaryctl.aws import RetryPolicy
from canaryctl.errors import PlatformError, UnhealthyTaskSet
from canaryctl.platforms.ecs.platform import EcsPlatform
from canaryctl.platforms.ecs.settings import EcsSettings

ELB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012"
BLUE, GREEN = f"{ELB}:targetgroup/gb-blue/1", f"{ELB}:targetgroup/gb-green/2"
TS = "arn:aws:ecs:eu-west-1:123456789012:task-set/staging/gamebackend"
LIST_ALL = {"cluster": "staging", "service": "gamebackend"}


def task_set(n: int, status: str, tg: str, **kw: Any) -> dict[str, Any]:
    found = {
        "id": f"ecs-svc/{n}",
        "taskSetArn": f"{TS}/ecs-svc/{n}",
        "status": status,
        "externalId": f"canaryctl/1.{n}.0",
        "taskDefinition": f"arn:aws:ecs:eu-west-1:123456789012:task-definition/gb:{n}",
        "loadBalancers": [{"targetGroupArn": tg, "containerName": "app", "containerPort": 8080}],
        "scale": {"value": 100.0 if status == "PRIMARY" else 25.0, "unit": "PERCENT"},
        "stabilityStatus": "STEADY_STATE",
        "runningCount": 4,
        "computedDesiredCount": 4,
        "pendingCount": 0,
    }
    found.update(kw)
    return found


PRIMARY = task_set(1, "PRIMARY", BLUE)


def canary(**kw: Any) -> dict[str, Any]:
    return task_set(2, "ACTIVE", GREEN, **kw)


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


@pytest.fixture
def elb() -> Iterator[Stubber]:
    """The platform's ELBv2 client, stubbed (the ``rig`` uses it)."""
    with Stubber(boto3.client("elbv2", region_name="eu-west-1", **CREDS)) as stub:
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture
def rig(elb: Stubber) -> Iterator[tuple[EcsPlatform, Stubber, FakeTime]]:
    ecs = boto3.client("ecs", region_name="eu-west-1", **CREDS)
    elbv2 = elb.client
    settings = EcsSettings(
        cluster="staging",
        service="gamebackend",
        target_groups=(BLUE, GREEN),
        listener_arn=f"{ELB}:listener/app/gb/50dc/f2f7",
        poll_interval=5.0,
    )
    fake = FakeTime()
    platform = EcsPlatform(
        settings,
        ecs=ecs,
        elbv2=elbv2,
        retry=RetryPolicy(attempts=3, base_s=0.0, cap_s=0.0),
        clock=fake.clock,
        sleep=fake.sleep,
    )
    with Stubber(ecs) as stub:
        yield platform, stub, fake
        stub.assert_no_pending_responses()


def one(ts: dict[str, Any]) -> dict[str, Any]:
    return {**LIST_ALL, "taskSets": [ts["taskSetArn"]]}


def service(stub: Stubber, **fields: Any) -> None:
    """DescribeServices answering the service with ``fields`` (desiredCount 16: the canary at
    25% computes 4 tasks)."""
    stub.add_response(
        "describe_services",
        {"services": [{"serviceName": "gamebackend", "desiredCount": 16, **fields}]},
        {"cluster": "staging", "services": ["gamebackend"]},
    )


def test_wait_healthy_polls_until_running_reaches_desired(
    rig: tuple[EcsPlatform, Stubber, FakeTime],
) -> None:
    platform, stub, fake = rig
    starting = canary(stabilityStatus="STABILIZING", runningCount=1, pendingCount=3)
    running = canary(stabilityStatus="STABILIZING", runningCount=4)  # counts alone: not yet
    stub.add_response("describe_task_sets", {"taskSets": [PRIMARY, starting]}, LIST_ALL)
    stub.add_response("describe_task_sets", {"taskSets": [starting]}, one(starting))
    service(stub)
    stub.add_response("describe_task_sets", {"taskSets": [running]}, one(starting))
    stub.add_response("describe_task_sets", {"taskSets": [canary()]}, one(starting))

    healthy = platform.wait_healthy(60)

    assert healthy.healthy and (healthy.running, healthy.desired) == (4, 4)
    assert healthy.version == "1.2.0"
    assert fake.slept == [5.0, 5.0]


def test_unhealthy_canary_names_what_is_wrong(
    rig: tuple[EcsPlatform, Stubber, FakeTime], elb: Stubber
) -> None:
    platform, stub, _ = rig
    stuck = canary(stabilityStatus="STABILIZING", runningCount=1, pendingCount=3)
    stub.add_response("describe_task_sets", {"taskSets": [PRIMARY, stuck]}, LIST_ALL)
    stub.add_response("describe_task_sets", {"taskSets": [stuck]}, one(stuck))
    service(stub)
    for _ in range(2):  # at 5 s and 10 s
        stub.add_response("describe_task_sets", {"taskSets": [stuck]}, one(stuck))
    failing = {"State": "unhealthy", "Reason": "Target.FailedHealthChecks"}
    failing["Description"] = "Health checks failed"
    elb.add_response(
        "describe_target_health",
        {
            "TargetHealthDescriptions": [
                {"Target": {"Id": f"10.0.1.{i}", "Port": 8080}, "TargetHealth": health}
                for i, health in enumerate([failing, failing, {"State": "healthy"}])
            ]
        },
        {"TargetGroupArn": GREEN},
    )
    event = "(service gamebackend) is unable to consistently start tasks successfully."
    service(stub, events=[{"message": event}])

    with pytest.raises(UnhealthyTaskSet) as caught:
        platform.wait_healthy(10)
    assert str(caught.value) == (
        "canary task set ecs-svc/2 (1.2.0) is not healthy after 10s "
        "(stabilityStatus=STABILIZING): stabilityStatus=STABILIZING, running 1 of 4 (pending 3); "
        "targets in targetgroup/gb-green/2: 1 healthy, "
        "2 unhealthy (Target.FailedHealthChecks: Health checks failed); "
        f"latest service event: {event}"
    )


def test_aws_errors_keep_their_code_and_throttling_is_retried_a_bounded_number_of_times(
    rig: tuple[EcsPlatform, Stubber, FakeTime],
) -> None:
    platform, stub, fake = rig
    stub.add_client_error("describe_task_sets", "AccessDeniedException", "not authorized", 400)
    with pytest.raises(PlatformError) as denied:
        platform.describe()
    assert denied.value.code == "AccessDeniedException"
    assert str(denied.value) == (
        "describe the task sets of service gamebackend: not authorized (AccessDeniedException)"
    )
    assert fake.slept == []  # not retried

    for _ in range(3):
        stub.add_client_error("describe_task_sets", "ThrottlingException", "Rate exceeded", 400)
    with pytest.raises(PlatformError) as throttled:
        platform.describe()
    assert throttled.value.code == "ThrottlingException"
    assert len(fake.slept) == 2  # three attempts in all


def test_no_primary_task_set_says_how_to_begin(rig: tuple[EcsPlatform, Stubber, FakeTime]) -> None:
    platform, stub, _ = rig
    stub.add_response("describe_task_sets", {"taskSets": []}, LIST_ALL)
    with pytest.raises(PlatformError, match="has no PRIMARY task set: create the first one"):
        platform.describe()
