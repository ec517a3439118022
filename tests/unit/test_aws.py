"""canaryctl.aws: the bounded retry around boto3 calls and the translation of AWS errors."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from canaryctl import aws
from canaryctl.errors import InvalidInput, PlatformError

POLICY = aws.RetryPolicy(attempts=4, base_s=0.1, cap_s=1.0)


def failing(*errors: BaseException, result: Any = "ok") -> tuple[Callable[..., Any], list[int]]:
    calls: list[int] = []

    def fn(**_: Any) -> Any:
        calls.append(1)
        if len(calls) <= len(errors):
            raise errors[len(calls) - 1]
        return result

    return fn, calls


def client_error(code: str, message: str = "nope", status: int = 400) -> ClientError:
    body = {
        "Error": {"Code": code, "Message": message},
        "ResponseMetadata": {"HTTPStatusCode": status},
    }
    return ClientError(body, "DescribeTaskSets")  # type: ignore[arg-type]


def test_throttling_and_transient_faults_are_retried_then_succeed() -> None:
    slept: list[float] = []
    fn, calls = failing(
        client_error("ThrottlingException"), client_error("ServiceUnavailable", status=503)
    )
    assert aws.call(fn, what="describe", policy=POLICY, sleep=slept.append) == "ok"
    assert len(calls) == 3
    assert len(slept) == 2 and all(0 <= s <= 1.0 for s in slept)


def test_retries_are_bounded_and_the_last_code_is_kept() -> None:
    fn, calls = failing(*[client_error("Throttling", "Rate exceeded")] * 4)
    with pytest.raises(PlatformError) as caught:
        aws.call(fn, what="set weights", policy=POLICY, sleep=lambda _: None)
    assert len(calls) == 4
    assert caught.value.code == "Throttling"
    assert str(caught.value) == "set weights: Rate exceeded (Throttling)"


def test_other_errors_are_not_retried_and_expected_codes_pass_through() -> None:
    fn, calls = failing(client_error("ValidationException", "bad weight"))
    with pytest.raises(PlatformError, match=r"^modify: bad weight \(ValidationException\)$"):
        aws.call(fn, what="modify", policy=POLICY, sleep=lambda _: None)
    assert len(calls) == 1

    fn, _ = failing(client_error("PreconditionFailed", status=412))
    with pytest.raises(ClientError):
        aws.call(fn, what="lock", passthrough=frozenset({"PreconditionFailed"}))


def test_unreachable_endpoints_are_retried_and_missing_credentials_are_not() -> None:
    unreachable = EndpointConnectionError(endpoint_url="http://127.0.0.1:1")
    fn, calls = failing(unreachable)
    assert aws.call(fn, what="describe", policy=POLICY, sleep=lambda _: None) == "ok"
    assert len(calls) == 2

    fn, calls = failing(NoCredentialsError())
    with pytest.raises(PlatformError) as caught:
        aws.call(fn, what="describe", policy=POLICY, sleep=lambda _: None)
    assert (len(calls), caught.value.code) == (1, "NoCredentialsError")


def test_a_missing_region_is_invalid_input(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    aws.reset()
    try:
        with pytest.raises(InvalidInput, match=r"no AWS region: set the pipeline's platform\."):
            aws.resolve_region(None)
        assert aws.resolve_region("eu-central-1") == "eu-central-1"
    finally:
        aws.reset()


def test_a_quota_error_fails_at_once_with_its_code() -> None:
    # ECS answers LimitExceededException when a quota is reached (API_CreateTaskSet.html#Errors):
    # waiting does not raise a quota, so there is no second attempt.
    slept: list[float] = []
    fn, calls = failing(*[client_error("LimitExceededException", "The limit was exceeded")] * 4)
    with pytest.raises(PlatformError) as caught:
        aws.call(fn, what="create the canary task set", policy=POLICY, sleep=slept.append)
    assert (len(calls), slept) == (1, [])
    assert caught.value.code == "LimitExceededException"
    assert str(caught.value).startswith("create the canary task set: The limit was exceeded [")
    assert "quota" in str(caught.value) and "\n" not in str(caught.value)


def test_clients_leave_every_retry_to_call() -> None:
    config = aws.client("ecs", region="eu-west-1").meta.config
    assert config.retries == {"mode": "standard", "total_max_attempts": 1}
