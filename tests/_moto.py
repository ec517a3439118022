"""Pytest plugin: moto's server (real HTTP, real boto3 serialization) for the AWS tests, and the
ECS world a Terraform apply of the staging environment leaves behind, built in it.

Registered by ``tests/conftest.py`` (``pytest_plugins``); received through fixtures only:

- ``moto_server`` (session): the server on an ephemeral port, stopped at the end; ``.env(tmp)``
  points boto3 (and canaryctl) at it the way a user points canaryctl at a region;
- ``fresh_moto``: the same server, emptied before the test;
- ``ecs_staging``: ``ecs_staging(primary_external_id=None)`` builds the staging world in a
  fresh moto and returns an ``EcsStaging`` (``terraform_only=True``: as Terraform leaves it,
  no task set).

moto needs ``launchType="FARGATE"`` on the EXTERNAL service and its task sets (otherwise it
tries to place tasks on container instances), DNS hostnames on the VPC and security groups in
the awsvpc configuration (otherwise its task placement crashes), and a memory size on each
container.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

__all__ = ["EcsStaging", "MotoServer", "ecs_staging", "fresh_moto", "moto_server"]

REGION = "eu-west-1"
IMAGE_REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/gamebackend"


@dataclass
class MotoServer:
    """moto's server at ``url``, and how to reach it."""

    url: str
    region: str = REGION
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def reset(self) -> None:
        """Empties every account (moto's own API)."""
        httpx.post(f"{self.url}/moto-api/reset", timeout=10).raise_for_status()

    def env(self, tmp: Path) -> dict[str, str]:
        """The environment that points boto3 at this server, with test credentials and no
        user configuration (files under ``tmp`` that do not exist)."""
        return {
            "AWS_ENDPOINT_URL": self.url,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": self.region,
            "AWS_CONFIG_FILE": str(tmp / "no-aws-config"),
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp / "no-aws-credentials"),
        }

    def client(self, name: str) -> Any:
        """A boto3 client of this server (the test's own, not canaryctl's)."""
        if name not in self._clients:
            import boto3

            self._clients[name] = boto3.client(
                name,
                region_name=self.region,
                endpoint_url=self.url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self._clients[name]


@dataclass
class EcsStaging:
    """What a Terraform apply of the staging environment leaves behind, in moto: VPC, two
    subnets, an ALB with blue/green target groups and a weighted listener (100/0), a cluster
    and an EXTERNAL service whose primary task set (1.0.0) is on blue."""

    moto: MotoServer = field(repr=False)
    subnets: list[str]
    security_group: str
    lb_arn: str
    blue: str
    green: str
    listener_arn: str
    task_definition: str = ""
    primary_arn: str = ""
    cluster: str = "staging"
    service: str = "gamebackend"
    region: str = REGION
    image_repo: str = IMAGE_REPO

    def client(self, name: str) -> Any:
        return self.moto.client(name)

    @property
    def ecs(self) -> Any:
        return self.client("ecs")

    @property
    def elbv2(self) -> Any:
        return self.client("elbv2")

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
    blue, green = (
        elbv2.create_target_group(
            Name=f"gamebackend-{color}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        for color in ("blue", "green")
    )
    forward = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": blue, "Weight": 100},
                {"TargetGroupArn": green, "Weight": 0},
            ],
            "TargetGroupStickinessConfig": {"Enabled": True, "DurationSeconds": 600},
        },
    }
    listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[forward]
    )["Listeners"][0]["ListenerArn"]
    return lb["LoadBalancerArn"], blue, green, listener


def _task_definition(ecs: Any) -> str:
    return str(
        ecs.register_task_definition(
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
    )


def _terraform_service(world: EcsStaging) -> None:
    """The cluster, task definition and service as terraform/modules/ecs_service declares
    them: FARGATE, EXTERNAL controller, a health-check grace period, ECS-managed tags, and no
    task definition, load balancer or network configuration on the service (those belong to
    task sets) and no task set."""
    ecs = world.ecs
    ecs.create_cluster(
        clusterName=world.cluster, settings=[{"name": "containerInsights", "value": "enabled"}]
    )
    world.task_definition = _task_definition(ecs)
    ecs.create_service(
        cluster=world.cluster,
        serviceName=world.service,
        desiredCount=2,
        launchType="FARGATE",
        healthCheckGracePeriodSeconds=120,
        enableECSManagedTags=True,
        deploymentController={"type": "EXTERNAL"},
    )


def _service(world: EcsStaging, external_id: str | None) -> None:
    ecs = world.ecs
    ecs.create_cluster(clusterName=world.cluster)
    world.task_definition = _task_definition(ecs)
    ecs.create_service(
        cluster=world.cluster,
        serviceName=world.service,
        desiredCount=4,
        deploymentController={"type": "EXTERNAL"},
        launchType="FARGATE",
    )
    network = {"subnets": world.subnets, "securityGroups": [world.security_group]}
    world.primary_arn = ecs.create_task_set(
        cluster=world.cluster,
        service=world.service,
        taskDefinition=world.task_definition,
        launchType="FARGATE",
        loadBalancers=[
            {"targetGroupArn": world.blue, "containerName": "app", "containerPort": 8080}
        ],
        networkConfiguration={"awsvpcConfiguration": {**network, "assignPublicIp": "DISABLED"}},
        scale={"value": 100.0, "unit": "PERCENT"},
        **({"externalId": external_id} if external_id else {}),
    )["taskSet"]["taskSetArn"]
    ecs.update_service_primary_task_set(
        cluster=world.cluster, service=world.service, primaryTaskSet=world.primary_arn
    )


@pytest.fixture(scope="session")
def moto_server() -> Iterator[MotoServer]:
    """moto's server on an ephemeral loopback port for the session."""
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield MotoServer(f"http://{host}:{port}")
    finally:
        server.stop()


@pytest.fixture
def fresh_moto(moto_server: MotoServer) -> MotoServer:
    """The session's moto server, emptied before this test."""
    moto_server.reset()
    return moto_server


@pytest.fixture
def ecs_staging(fresh_moto: MotoServer) -> Callable[..., EcsStaging]:
    """``ecs_staging(primary_external_id=None)`` → the staging world, built in a fresh moto.
    ``terraform_only=True``: the service as Terraform creates it, without a task set.

    ``primary_external_id`` marks the primary task set as one canaryctl started (say
    ``canaryctl/1.0.0``); without it the image tag is all that names its version.
    """

    def build(
        primary_external_id: str | None = None, *, terraform_only: bool = False
    ) -> EcsStaging:
        vpc, subnets, sg = _network(fresh_moto.client("ec2"))
        lb, blue, green, listener = _alb(fresh_moto.client("elbv2"), vpc, subnets)
        world = EcsStaging(fresh_moto, subnets, sg, lb, blue, green, listener)
        if terraform_only:  # as `canaryctl env up` leaves it: no task set yet
            _terraform_service(world)
        else:
            _service(world, primary_external_id)
        return world

    return build
