"""End-to-end fixtures for ``canaryctl deploy`` on ECS: a moto server (real HTTP) holding what
a Terraform apply of staging leaves behind, and a runner for the CLI as a separate process
pointed at it through ``AWS_ENDPOINT_URL`` — the way a user points canaryctl at a region.

(The builder repeats the integration tests' one on purpose: fixtures are shared through
conftest files, never imported across test directories.)
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from moto.server import ThreadedMotoServer

REGION = "eu-west-1"
IMAGE_REPO = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/gamebackend"
logging.getLogger("werkzeug").setLevel(logging.WARNING)

_THROTTLE = """\
import itertools

from botocore.awsrequest import AWSResponse

from canaryctl import aws

_calls = itertools.count()


def _throttle(model, **_):
    throttled = next(_calls) % 10 in (0, 3, 6)
    with open({log!r}, "a") as log:
        log.write(("throttled " if throttled else "ok ") + model.name + "\\n")
    if not throttled:
        return None
    error = {{"Code": "ThrottlingException", "Message": "Rate exceeded"}}
    return AWSResponse("", 400, {{}}, None), {{"Error": error, "ResponseMetadata": {{}}}}


aws.session().events.register("before-call", _throttle)
"""


@pytest.fixture(scope="session")
def moto_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@dataclass
class Staging:
    """The staging environment in moto, and how to run canaryctl against it."""

    url: str
    tmp: Path
    cluster: str = "staging"
    service: str = "gamebackend"
    listener: str = ""
    blue: str = ""
    green: str = ""
    primary: str = ""
    clients: dict[str, Any] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)

    def client(self, name: str) -> Any:
        if name not in self.clients:
            self.clients[name] = boto3.client(
                name,
                region_name=REGION,
                endpoint_url=self.url,
                aws_access_key_id="testing",
                aws_secret_access_key="testing",
            )
        return self.clients[name]

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_ENDPOINT_URL=self.url,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION=REGION,
            AWS_CONFIG_FILE=str(self.tmp / "no-aws-config"),
            AWS_SHARED_CREDENTIALS_FILE=str(self.tmp / "no-aws-credentials"),
            CANARYCTL_STATE_DIR=str(self.tmp / "state"),
        )
        for github in ("GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS"):  # unless a test sets them
            env.pop(github, None)
        env.update(self.extra_env)
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "canaryctl", *args]

    def run(self, *args: str, timeout: float = 180) -> tuple[int, Any, str]:
        """A canaryctl command as a user runs it; (exit code, JSON on stdout, stderr)."""
        done = subprocess.run(
            self.command(*args),
            cwd=self.tmp,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        try:
            outcome = json.loads(done.stdout) if done.stdout.strip() else None
        except ValueError:
            outcome = done.stdout
        return done.returncode, outcome, done.stderr

    def deploy(self, pipeline: Path, version: str, timeout: float = 180) -> tuple[int, Any, str]:
        return self.run(
            "deploy",
            "--pipeline",
            str(pipeline),
            "--version",
            version,
            "--output",
            "json",
            "--yes",
            timeout=timeout,
        )

    def start_deploy(self, pipeline: Path, version: str) -> subprocess.Popen[str]:
        """``canaryctl deploy`` in the background (the test must kill or wait for it)."""
        return subprocess.Popen(
            self.command(
                "deploy",
                "--pipeline",
                str(pipeline),
                "--version",
                version,
                "--output",
                "json",
                "--yes",
            ),
            cwd=self.tmp,
            env=self.env(),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )

    def records(self) -> list[dict[str, Any]]:
        folder = self.tmp / "state" / "deployments"
        return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]

    def throttle_every_third_call(self) -> Path:
        """Make canaryctl processes answer 30% of their AWS calls (calls 0, 3, 6 of every 10)
        with ThrottlingException, through botocore's ``before-call`` hook of canaryctl's
        session (a ``sitecustomize`` module on PYTHONPATH); returns the log of calls."""
        hooks = self.tmp / "hooks"
        hooks.mkdir(exist_ok=True)
        log = self.tmp / "aws-calls.log"
        (hooks / "sitecustomize.py").write_text(_THROTTLE.format(log=str(log)), encoding="utf-8")
        self.extra_env["PYTHONPATH"] = str(hooks)
        return log

    def bucket(self, name: str) -> str:
        """An S3 bucket in the staging region (Terraform's state_bucket module makes one)."""
        self.client("s3").create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION}
        )
        return name

    def s3_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.client("s3").exceptions.NoSuchKey:
            return None
        return dict(json.loads(body))

    def task_sets(self) -> list[dict[str, Any]]:
        found = self.client("ecs").describe_task_sets(cluster=self.cluster, service=self.service)
        return [t for t in found["taskSets"] if t["status"] != "DRAINING"]

    def weights(self) -> dict[str, int]:
        listener = self.client("elbv2").describe_listeners(ListenerArns=[self.listener])
        forward = next(
            a for a in listener["Listeners"][0]["DefaultActions"] if a["Type"] == "forward"
        )
        return {g["TargetGroupArn"]: g["Weight"] for g in forward["ForwardConfig"]["TargetGroups"]}

    def image_of(self, task_definition: str) -> str:
        td = self.client("ecs").describe_task_definition(taskDefinition=task_definition)
        return str(td["taskDefinition"]["containerDefinitions"][0]["image"])


def _build(staging: Staging) -> None:
    ec2, elbv2, ecs = staging.client("ec2"), staging.client("elbv2"), staging.client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.30.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.30.{i}.0/24", AvailabilityZone=f"{REGION}{z}")[
            "Subnet"
        ]["SubnetId"]
        for i, z in ((1, "a"), (2, "b"))
    ]
    sg = ec2.create_security_group(GroupName="tasks", Description="tasks", VpcId=vpc)["GroupId"]
    lb = elbv2.create_load_balancer(Name="gamebackend", Subnets=subnets)["LoadBalancers"][0]
    staging.blue, staging.green = (
        elbv2.create_target_group(
            Name=f"gamebackend-{c}", Protocol="HTTP", Port=8080, VpcId=vpc, TargetType="ip"
        )["TargetGroups"][0]["TargetGroupArn"]
        for c in ("blue", "green")
    )
    forward = {
        "Type": "forward",
        "ForwardConfig": {
            "TargetGroups": [
                {"TargetGroupArn": staging.blue, "Weight": 100},
                {"TargetGroupArn": staging.green, "Weight": 0},
            ]
        },
    }
    staging.listener = elbv2.create_listener(
        LoadBalancerArn=lb["LoadBalancerArn"], Protocol="HTTP", Port=80, DefaultActions=[forward]
    )["Listeners"][0]["ListenerArn"]
    ecs.create_cluster(clusterName=staging.cluster)
    td = ecs.register_task_definition(
        family="gamebackend",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[
            {"name": "app", "image": f"{IMAGE_REPO}:1.0.0", "memory": 512, "essential": True}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster=staging.cluster,
        serviceName=staging.service,
        desiredCount=4,
        deploymentController={"type": "EXTERNAL"},
        launchType="FARGATE",
    )
    staging.primary = ecs.create_task_set(
        cluster=staging.cluster,
        service=staging.service,
        taskDefinition=td,
        launchType="FARGATE",
        externalId="canaryctl/1.0.0",
        loadBalancers=[
            {"targetGroupArn": staging.blue, "containerName": "app", "containerPort": 8080}
        ],
        networkConfiguration={"awsvpcConfiguration": {"subnets": subnets, "securityGroups": [sg]}},
        scale={"value": 100.0, "unit": "PERCENT"},
    )["taskSet"]["taskSetArn"]
    ecs.update_service_primary_task_set(
        cluster=staging.cluster, service=staging.service, primaryTaskSet=staging.primary
    )


@pytest.fixture
def staging(moto_url: str, tmp_path: Path) -> Staging:
    httpx.post(f"{moto_url}/moto-api/reset", timeout=10).raise_for_status()
    env = Staging(url=moto_url, tmp=tmp_path)
    _build(env)
    return env


@pytest.fixture
def recording() -> Any:
    """Writes a replay recording: ``seconds`` one-second intervals per target; the canary
    answers ``canary_error_rate`` errors and a ``canary_slow`` share at 400 ms."""

    def write(path: Path, seconds: int, canary_error_rate: float, canary_slow: float) -> Path:
        lines = []
        for t in range(1, seconds + 1):
            for target, n, err, slow in (
                ("stable", 180, 0.0, 0.0),
                ("canary", 20, canary_error_rate, canary_slow),
            ):
                late = round(n * slow)
                buckets = {"0.05": n - late - 2, "0.1": n - late, "0.25": n - late, "0.5": n}
                lines.append(
                    json.dumps(
                        {
                            "t": t,
                            "target": target,
                            "requests": n,
                            "errors": round(n * err),
                            "buckets": {**buckets, "+Inf": n},
                        }
                    )
                )
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write
