"""AWS integration fixtures: one moto server (real HTTP, real boto3 serialization) per session,
reset before each test; the environment points boto3 at it through ``AWS_ENDPOINT_URL``,
exactly as a user points canaryctl at a region.

moto needs ``launchType="FARGATE"`` on the EXTERNAL service and its task sets (otherwise it
tries to place tasks on container instances), DNS hostnames on the VPC and security groups in
the awsvpc configuration (otherwise its task placement crashes), and a memory size on each
container.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

from canaryctl import aws
from canaryctl.platforms.ecs.platform import EcsPlatform
from canaryctl.platforms.ecs.settings import EcsSettings

REGION = "eu-west-1"

logging.getLogger("werkzeug").setLevel(logging.WARNING)
IMAGE_REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/gamebackend"


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture
def region() -> str:
    return REGION


@pytest.fixture
def moto(moto_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[str]:
    """A clean moto account, with boto3 pointed at it for this test only."""
    httpx.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_url)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    aws.reset()
    yield moto_url
    aws.reset()


@dataclass
class EcsWorld:
    """What a Terraform apply of the staging environment leaves behind, in moto."""

    cluster: str
    service: str
    listener_arn: str
    lb_arn: str
    blue: str
    green: str
    primary_arn: str
    task_definition: str
    subnets: list[str]
    security_group: str
    ecs: Any
    elbv2: Any
    region: str = REGION
    image_repo: str = IMAGE_REPO

    def task_sets(self) -> list[dict[str, Any]]:
        answer = self.ecs.describe_task_sets(cluster=self.cluster, service=self.service)
        return [t for t in answer["taskSets"] if t["status"] != "DRAINING"]

    def forward(self) -> dict[str, Any]:
        listener = self.elbv2.describe_listeners(ListenerArns=[self.listener_arn])
        actions = listener["Listeners"][0]["DefaultActions"]
        return next(a for a in actions if a["Type"] == "forward")

    def weights(self) -> dict[str, int]:
        groups = self.forward()["ForwardConfig"]["TargetGroups"]
        return {g["TargetGroupArn"]: g["Weight"] for g in groups}

    def set_weights_behind_our_back(self, blue: int, green: int) -> None:
        action = self.forward()
        action["ForwardConfig"]["TargetGroups"] = [
            {"TargetGroupArn": self.blue, "Weight": blue},
            {"TargetGroupArn": self.green, "Weight": green},
        ]
        self.elbv2.modify_listener(ListenerArn=self.listener_arn, DefaultActions=[action])

    def image_of(self, task_definition: str) -> str:
        td = self.ecs.describe_task_definition(taskDefinition=task_definition)["taskDefinition"]
        return str(td["containerDefinitions"][0]["image"])


def _network(ec2: Any) -> tuple[str, list[str], str]:
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    return vpc, subnets, sg


def _alb(elbv2: Any, vpc: str, subnets: list[str]) -> tuple[str, str, str, str]:
    lb = elbv2.create_load_balancer(Name="gamebackend", Subnets=subnets)["LoadBalancers"][0]
    tgs = [
        elbv2.create_target_group(
            Name=f"gamebackend-{color}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        for color in ("blue", "green")
    ]
    forward = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": tgs[0], "Weight": 100},
                {"TargetGroupArn": tgs[1], "Weight": 0},
            ],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 600},
        },
    }
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[forward]
    )["Listeners"][0]["ListenerArn"]
    return lb["LoadBalancerArn"], tgs[0], tgs[1], listener


def _service(ecs: Any, blue: str, subnets: list[str], sg: str) -> tuple[str, str]:
    ecs.create_cluster(clusterName="staging")
    td = ecs.register_task_definition(
        family="gamebackend",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {
                "name": "app",
                "image": f"{IMAGE_REPO}:1.0.0",
                "memory": 512,
                "essential": True,
                "portMappings": [{"containerPort": 8080}],
                "environment": [{"name": "LOG_LEVEL", "value": "info"}],
            }
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="staging",
        serviceName="gamebackend",
        desiredCount=4,
        deploymentController={"type": "EXTERNAL"},
        launchType="FARGATE",
    )
    primary = ecs.create_task_set(
        cluster="staging",
        service="gamebackend",
        taskDefinition=td,
        launchType="FARGATE",
        loadBalancers=[{"targetGroupArn": blue, "containerName": "app", "containerPort": 8080}],
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": subnets,
                "securityGroups": [sg],
                "assignPublicIp": "DISABLED",
            }
        },
        scale={"value": 100.0, "unit": "PERCENT"},
    )["taskSet"]["taskSetArn"]
    ecs.update_service_primary_task_set(
        cluster="staging", service="gamebackend", primaryTaskSet=primary
    )
    return td, primary


@pytest.fixture
def world(moto: str) -> EcsWorld:
    """VPC, two subnets, an ALB with blue/green target groups and a weighted listener (100/0),
    a cluster and an EXTERNAL service whose primary task set (1.0.0) is on blue."""
    ec2 = boto3.client("ec2", region_name=REGION)
    elbv2 = boto3.client("elbv2", region_name=REGION)
    ecs = boto3.client("ecs", region_name=REGION)
    vpc, subnets, sg = _network(ec2)
    lb, blue, green, listener = _alb(elbv2, vpc, subnets)
    td, primary = _service(ecs, blue, subnets, sg)
    return EcsWorld(
        cluster="staging",
        service="gamebackend",
        listener_arn=listener,
        lb_arn=lb,
        blue=blue,
        green=green,
        primary_arn=primary,
        task_definition=td,
        subnets=subnets,
        security_group=sg,
        ecs=ecs,
        elbv2=elbv2,
    )


FAST_RETRY = aws.RetryPolicy(attempts=10, base_s=0.005, cap_s=0.05)


@pytest.fixture
def make_platform(world: EcsWorld) -> Iterator[Callable[..., EcsPlatform]]:
    """Builds a fresh EcsPlatform (a fresh process, as after a crash) for ``world``."""
    made: list[EcsPlatform] = []

    def make(**overrides: Any) -> EcsPlatform:
        fields: dict[str, Any] = {
            "cluster": world.cluster,
            "service": world.service,
            "target_groups": (world.blue, world.green),
            "listener_arn": world.listener_arn,
            "image": f"{IMAGE_REPO}:{{version}}",
            "region": REGION,
            "stability_timeout": 5.0,
            "drain_delay": 0.0,
            "canary_scale_percent": 25.0,
            "poll_interval": 0.01,
        }
        fields.update(overrides)
        platform = EcsPlatform(EcsSettings(**fields), retry=FAST_RETRY)
        made.append(platform)
        return platform

    yield make
    for platform in made:
        platform.close()


@dataclass
class Throttler:
    """Answers a share of AWS calls with a throttling error, through botocore's event hooks."""

    rate: float
    seed: int = 7
    calls: int = 0
    throttled: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)

    def hit(self) -> bool:
        self.calls += 1
        if self._rng.random() < self.rate:
            self.throttled += 1
            return True
        return False


@pytest.fixture
def throttle_before_call(moto: str) -> Iterator[Throttler]:
    """30% of calls short-circuited at ``before-call`` with a ThrottlingException: botocore's
    retry loop never sees them, so canaryctl's own bounded retry must absorb them."""
    from botocore.awsrequest import AWSResponse

    throttler = Throttler(rate=0.3)

    def handler(**_: Any) -> tuple[Any, dict[str, Any]] | None:
        if not throttler.hit():
            return None
        http = AWSResponse("", 400, {}, None)
        parsed = {
            "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
        return http, parsed

    aws.session().events.register("before-call", handler)
    yield throttler
    aws.session().events.unregister("before-call", handler)


@pytest.fixture
def throttle_before_send(moto: str) -> Iterator[Throttler]:
    """30% of HTTP sends answered 400 ThrottlingException at ``before-send``: the response goes
    through botocore's ``needs-retry`` handling (adaptive mode), as a real throttle would."""
    from botocore.awsrequest import AWSResponse

    throttler = Throttler(rate=0.3)

    class _Raw:
        def __init__(self, body: bytes) -> None:
            self._body = body

        def stream(self, **_: Any) -> Iterator[bytes]:
            yield self._body

    def handler(request: Any, **_: Any) -> Any:
        if not throttler.hit():
            return None
        if request.headers.get("X-Amz-Target"):  # the JSON protocol (ECS)
            body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
            headers = {"Content-Type": "application/x-amz-json-1.1"}
        else:  # query / rest-xml protocols (ELBv2, S3)
            body = (
                b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                b"<Message>Rate exceeded</Message></Error><RequestId>x</RequestId>"
                b"</ErrorResponse>"
            )
            headers = {"Content-Type": "text/xml"}
        return AWSResponse(request.url, 400, headers, _Raw(body))

    aws.session().events.register("before-send", handler)
    yield throttler
    aws.session().events.unregister("before-send", handler)
