"""AWS integration fixtures: moto's server (``moto_server``, from the ``tests/_moto.py`` plugin)
emptied before each test, with boto3 pointed at it through ``AWS_ENDPOINT_URL`` exactly as a
user points canaryctl at a region; ``world`` is the staging environment built in it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from canaryctl import aws
from canaryctl.platforms.ecs.platform import EcsPlatform
from canaryctl.platforms.ecs.settings import EcsSettings

EcsStaging = Any  # the plugin's EcsStaging: shared through fixtures, not imports
MotoServer = Any  # the plugin's MotoServer


@pytest.fixture
def region(moto_server: MotoServer) -> str:
    return str(moto_server.region)


@pytest.fixture
def moto(fresh_moto: MotoServer, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[str]:
    """A clean moto account, with boto3 pointed at it for this test only."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION"):
        monkeypatch.delenv(name, raising=False)
    for name, value in fresh_moto.env(tmp_path).items():
        monkeypatch.setenv(name, value)
    aws.reset()
    yield fresh_moto.url
    aws.reset()


@pytest.fixture
def world(moto: str, ecs_staging: Callable[..., EcsStaging]) -> EcsStaging:
    """VPC, two subnets, an ALB with blue/green target groups and a weighted listener (100/0),
    a cluster and an EXTERNAL service whose primary task set (1.0.0, on blue) carries no
    canaryctl external id: only its image tag names its version."""
    return ecs_staging()


FAST_RETRY = aws.RetryPolicy(attempts=10, base_s=0.005, cap_s=0.05)


@pytest.fixture
def make_platform(world: EcsStaging) -> Iterator[Callable[..., EcsPlatform]]:
    """Builds a fresh EcsPlatform (a fresh process, as after a crash) for ``world``."""
    made: list[EcsPlatform] = []

    def make(**overrides: Any) -> EcsPlatform:
        fields: dict[str, Any] = {
            "cluster": world.cluster,
            "service": world.service,
            "target_groups": (world.blue, world.green),
            "listener_arn": world.listener_arn,
            "image": f"{world.image_repo}:{{version}}",
            "region": world.region,
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
    is parsed by botocore as a real throttle would be (its retries are off: canaryctl's loop
    retries)."""
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
