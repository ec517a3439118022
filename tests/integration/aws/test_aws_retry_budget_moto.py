"""One retry budget per call, counted on the wire: every HTTP request a client sends to moto's
server passes botocore's ``before-send`` hook, which counts it and may answer it instead."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from canaryctl import aws
from canaryctl.errors import PlatformError
from canaryctl.platforms.base import CanarySpec
from canaryctl.platforms.ecs.platform import EcsPlatform

pytestmark = pytest.mark.integration

EcsWorld = Any


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


@dataclass
class Wire:
    """Counts the HTTP requests per operation (``X-Amz-Target`` suffix); answers the first
    ``fail`` requests of ``operation`` with the JSON error ``code``."""

    operation: str = ""
    code: str = "ThrottlingException"
    fail: int = 0
    sent: dict[str, int] = field(default_factory=dict)

    def handler(self, request: Any, **_: Any) -> Any:
        target = request.headers.get("X-Amz-Target", b"")
        target = target.decode() if isinstance(target, bytes) else str(target)
        op = target.rsplit(".", 1)[-1]
        self.sent[op] = self.sent.get(op, 0) + 1
        if op != self.operation or self.sent[op] > self.fail:
            return None
        body = f'{{"__type":"{self.code}","message":"{self.code} from the test"}}'.encode()
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        return aws_response(request.url, 400, headers, _Raw(body))


def aws_response(url: str, status: int, headers: dict[str, str], raw: _Raw) -> Any:
    from botocore.awsrequest import AWSResponse

    return AWSResponse(url, status, headers, raw)


@pytest.fixture
def wire(moto: str) -> Iterator[Wire]:
    counted = Wire()
    aws.session().events.register("before-send", counted.handler)
    yield counted
    aws.session().events.unregister("before-send", counted.handler)


POLICY = aws.RetryPolicy(attempts=3, base_s=0.0, cap_s=0.0)


def test_a_throttled_call_sends_at_most_policy_attempts_requests(wire: Wire) -> None:
    # Throttle as many requests as the policy has attempts, then let them through: with one
    # budget the call fails after exactly 3 sends; with botocore's retries under ours it would
    # have succeeded on the 4th request of the first attempt.
    wire.operation, wire.fail = "ListClusters", POLICY.attempts
    ecs = aws.client("ecs")
    slept: list[float] = []
    with pytest.raises(PlatformError) as caught:
        aws.call(ecs.list_clusters, what="list clusters", policy=POLICY, sleep=slept.append)
    assert caught.value.code == "ThrottlingException"
    assert wire.sent["ListClusters"] == POLICY.attempts
    assert len(slept) == POLICY.attempts - 1  # the waits between attempts are all ours


def test_throttles_within_the_budget_are_absorbed_one_request_per_attempt(wire: Wire) -> None:
    wire.operation, wire.fail = "ListClusters", POLICY.attempts - 1
    ecs = aws.client("ecs")
    slept: list[float] = []
    answer = aws.call(ecs.list_clusters, what="list clusters", policy=POLICY, sleep=slept.append)
    assert "clusterArns" in answer
    assert wire.sent["ListClusters"] == POLICY.attempts
    assert len(slept) == POLICY.attempts - 1


def test_an_ecs_quota_error_fails_the_canary_at_once(
    world: EcsWorld, make_platform: Callable[..., EcsPlatform], wire: Wire
) -> None:
    wire.operation, wire.fail, wire.code = "CreateTaskSet", 99, "LimitExceededException"
    platform = make_platform()
    with pytest.raises(PlatformError) as caught:
        platform.start_canary(CanarySpec(version="1.1.0"))
    assert caught.value.code == "LimitExceededException"
    assert wire.sent["CreateTaskSet"] == 1
    message = str(caught.value)
    assert message.startswith("create the canary task set for 1.1.0: LimitExceededException")
    assert "quota" in message and message.endswith("(LimitExceededException)")
