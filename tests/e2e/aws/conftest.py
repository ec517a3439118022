"""End-to-end fixtures for ``canaryctl deploy`` on ECS: a moto server (real HTTP) holding what
a Terraform apply of staging leaves behind (``ecs_staging``, from the ``tests/_moto.py``
plugin), and a runner for the CLI as a separate process pointed at it through
``AWS_ENDPOINT_URL`` — the way a user points canaryctl at a region.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

EcsStaging = Any  # the plugin's EcsStaging: shared through fixtures, not imports

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


# The policy the ECS end-to-end pipelines are judged by (``Staging.policy``): short windows on
# the replayed or scripted metrics, overall latency and errors only.
_POLICY = """\
apiVersion: canaryctl/v1
kind: Policy
name: gamebackend-e2e
analysis:
  interval: 2s
  window: {window}
  minRequests: 20
  failureLimit: 1
  missingData: {{action: rollback, limit: 3}}
  judge: threshold
slos:
  all:
    errorRate: {{max: 1%}}
    latency: {{p95: 250ms}}
"""


def _deploy(pipeline: Path, version: str) -> list[str]:
    return [
        "deploy",
        "--pipeline",
        str(pipeline),
        "--version",
        version,
        "--output",
        "json",
        "--yes",
    ]


@dataclass
class Staging:
    """The staging environment in moto (``world``), and how to run canaryctl against it.

    canaryctl's processes see AWS as it really answers (``tests/_aws_behaviour.py``: task sets
    visible late, stale scale, primary and weight read-backs, S3 403 for missing keys) unless a
    test sets ``behaviour`` to None; ``behaviour`` holds the layer's switches."""

    world: EcsStaging
    tmp: Path
    layer: Any  # the ``aws_behaviour_subprocess`` fixture: its variable and sitecustomize
    extra_env: dict[str, str] = field(default_factory=dict)
    behaviour: dict[str, Any] | None = field(default_factory=dict)
    hooks: list[str] = field(default_factory=list)  # sitecustomize snippets
    cluster: str = field(init=False)
    service: str = field(init=False)
    blue: str = field(init=False)  # target group ARNs
    green: str = field(init=False)
    listener: str = field(init=False)
    primary: str = field(init=False)  # the primary task set's ARN

    def __post_init__(self) -> None:
        self.cluster, self.service = self.world.cluster, self.world.service
        self.blue, self.green = self.world.blue, self.world.green
        self.listener, self.primary = self.world.listener_arn, self.world.primary_arn

    @staticmethod
    def policy(window: str = "6s") -> str:
        """The e2e policy (``_POLICY``) with analysis windows of ``window``."""
        return _POLICY.format(window=window)

    def write_pipeline(self, policy: str, rest: str) -> Path:
        """``policy.yaml`` and a ``pipeline.yaml`` deploying to this ECS service, whose
        ``platform`` block every e2e pipeline shares; ``rest`` is the YAML after it (metrics,
        steps, state...)."""
        (self.tmp / "policy.yaml").write_text(policy, encoding="utf-8")
        text = f"""\
apiVersion: canaryctl/v1
kind: Pipeline
service: gamebackend
policy: policy.yaml
platform:
  type: ecs
  region: eu-west-1
  cluster: {self.cluster}
  service: {self.service}
  listenerArn: {self.listener}
  targetGroups: {{blue: {self.blue}, green: {self.green}}}
  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/gamebackend:{{version}}
  canaryScalePercent: 25
  healthTimeout: 30s
  stabilityTimeout: 30s
  drainDelay: 0s
  pollInterval: 0.2s
"""
        path = self.tmp / "pipeline.yaml"
        path.write_text(text + rest, encoding="utf-8")
        return path

    def client(self, name: str) -> Any:
        return self.world.client(name)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.world.moto.env(self.tmp))
        env["CANARYCTL_STATE_DIR"] = str(self.tmp / "state")
        for github in ("GITHUB_STEP_SUMMARY", "GITHUB_ACTIONS"):  # unless a test sets them
            env.pop(github, None)
        env.update(self.extra_env)
        snippets = list(self.hooks)
        if self.behaviour is not None:
            env[self.layer.env] = json.dumps(self.behaviour)
            snippets.append(self.layer.source)
        if snippets:  # botocore hooks on canaryctl's session, through a sitecustomize module
            hooks = self.tmp / "hooks"
            hooks.mkdir(exist_ok=True)
            (hooks / "sitecustomize.py").write_text("\n".join(snippets), encoding="utf-8")
            env["PYTHONPATH"] = os.pathsep.join(
                p for p in (str(hooks), env.get("PYTHONPATH", "")) if p
            )
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
        return self.run(*_deploy(pipeline, version), timeout=timeout)

    def start_deploy(self, pipeline: Path, version: str) -> subprocess.Popen[str]:
        """``canaryctl deploy`` in the background (the test must kill or wait for it)."""
        return subprocess.Popen(
            self.command(*_deploy(pipeline, version)),
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
        log = self.tmp / "aws-calls.log"
        self.hooks.append(_THROTTLE.format(log=str(log)))
        return log

    def record_writes(self) -> Path:
        """The AWS behaviour layer logs every write canaryctl makes (UpdateTaskSet,
        ModifyListener, ...) with the task sets as they then were: one JSON line each."""
        log = self.tmp / "aws-writes.jsonl"
        assert self.behaviour is not None, "recording needs the AWS behaviour layer"
        self.behaviour["record"] = str(log)
        return log

    def bucket(self, name: str) -> str:
        """An S3 bucket in the staging region (Terraform's state_bucket module makes one)."""
        self.client("s3").create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": self.world.region}
        )
        return name

    def s3_json(self, bucket: str, key: str) -> dict[str, Any] | None:
        try:
            body = self.client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
        except self.client("s3").exceptions.NoSuchKey:
            return None
        return dict(json.loads(body))

    def task_sets(self) -> list[dict[str, Any]]:
        return list(self.world.task_sets())

    def weights(self) -> dict[str, int]:
        return dict(self.world.weights())

    def image_of(self, task_definition: str) -> str:
        return str(self.world.image_of(task_definition))


@pytest.fixture
def staging(
    ecs_staging: Callable[..., EcsStaging], tmp_path: Path, aws_behaviour_subprocess: Any
) -> Staging:
    """Staging in a fresh moto; its primary task set is canaryctl's release of 1.0.0."""
    world = ecs_staging(primary_external_id="canaryctl/1.0.0")
    return Staging(world, tmp_path, aws_behaviour_subprocess)


@pytest.fixture
def bare_staging(
    ecs_staging: Callable[..., EcsStaging], tmp_path: Path, aws_behaviour_subprocess: Any
) -> Staging:
    """Staging as `canaryctl env up` leaves it: the service has no task set yet."""
    world = ecs_staging(terraform_only=True)
    return Staging(world, tmp_path, aws_behaviour_subprocess)


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
