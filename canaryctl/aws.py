"""boto3 clients for canaryctl's AWS adapters, and the one place AWS errors are translated.

- boto3 is imported lazily, so ``canaryctl --help`` never pays for it.
- One boto3 session per process (credentials are resolved once, as the AWS CLI does). Clients
  created from it copy its event handlers, which is how tests inject faults (throttling) into
  every client: ``canaryctl.aws.session().events.register("before-call", handler)``.
- One retry budget per call, and it is ``call``'s: clients are made with botocore's retries
  off (``standard`` mode, ``total_max_attempts=1``), so each attempt of ``call``'s bounded loop
  (``RetryPolicy``: 6 attempts, exponential backoff with full jitter) is exactly one HTTP
  request, and a call sends at most ``RetryPolicy.attempts`` requests. (With botocore's 10
  adaptive retries inside it, a call could send 6 x 11 = 66.) Our loop, not botocore's,
  because it also covers faults that never reach botocore's retry handler, sleeps through the
  caller's clock (tests use a fake one), and decides which codes are worth another attempt.
- ``LimitExceededException`` is not throttling for canaryctl: ECS answers it to
  CreateTaskSet, UpdateTaskSet, DeleteTaskSet, RegisterTaskDefinition and TagResource when a
  quota is reached ("The limit for the resource was exceeded", HTTP 400;
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateTaskSet.html#API_CreateTaskSet_Errors,
  quotas: https://docs.aws.amazon.com/AmazonECS/latest/developerguide/service-quotas.html).
  Waiting does not raise a quota, so it fails at once with its code (botocore's own retry
  lists would retry it as throttling, another reason its retries are off).
- The endpoint is never passed explicitly: boto3 honours ``AWS_ENDPOINT_URL`` (and
  ``AWS_ENDPOINT_URL_<SERVICE>``), so a user or a test points the whole tool at another
  endpoint (moto's server, LocalStack) without a code change.
- ``botocore`` ``ClientError``/``BotoCoreError`` are caught only here and in the adapters that
  call ``call``; they leave as domain errors (``PlatformError`` keeps the AWS error code).
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from canaryctl.errors import CanaryError, InvalidInput, PlatformError

__all__ = [
    "QUOTA_CODES",
    "THROTTLING_CODES",
    "TRANSIENT_CODES",
    "RetryPolicy",
    "call",
    "client",
    "error_code",
    "reset",
    "resolve_region",
    "session",
]

T = TypeVar("T")

# The codes AWS services use for "slow down": botocore's own list (but LimitExceededException,
# a quota error for ECS: see the module doc), plus S3's and ELB's spellings.
THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "RequestThrottledException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "TransactionInProgressException",
        "RequestLimitExceeded",
        "BandwidthLimitExceeded",
        "RequestThrottled",
        "SlowDown",
        "PriorRequestNotComplete",
        "EC2ThrottledException",
    }
)
# A service quota was reached: never retried, and the error says so (see the module doc).
QUOTA_CODES = frozenset({"LimitExceededException"})
# Server-side faults that are worth another attempt (the request may not have been applied;
# every adapter call is idempotent, so repeating it is safe).
TRANSIENT_CODES = frozenset(
    {
        "InternalError",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "ServerException",
        "RequestTimeout",
        "RequestTimeoutException",
        "ConditionalRequestConflict",
        "500",
        "502",
        "503",
        "504",
    }
)

_lock = threading.Lock()
_session: Any = None


def session() -> Any:
    """The process-wide boto3 session (created on first use)."""
    global _session
    with _lock:
        if _session is None:
            import boto3

            _session = boto3.session.Session()
        return _session


def reset() -> None:
    """Forget the session (tests that change credentials or endpoints between runs)."""
    global _session
    with _lock:
        _session = None


def resolve_region(region: str | None) -> str:
    """The configured region, else ``AWS_REGION``/``AWS_DEFAULT_REGION``/the profile's."""
    found = region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    found = found or session().region_name
    if not found:
        raise InvalidInput(
            "no AWS region: set the pipeline's platform.region or the AWS_REGION variable"
        )
    return str(found)


def client(service: str, *, region: str | None = None) -> Any:
    """A boto3 client for ``service`` in ``region`` that sends each request once: ``call``'s
    loop is the only retry (see the module doc)."""
    from botocore.config import Config

    config = Config(
        region_name=resolve_region(region),
        retries={"mode": "standard", "total_max_attempts": 1},
        connect_timeout=10,
        read_timeout=30,
        user_agent_extra="canaryctl",
    )
    return session().client(service, config=config)


@dataclass(frozen=True)
class RetryPolicy:
    """The one retry budget of a call: ``attempts`` HTTP requests in all (botocore's own retries
    are off), exponential backoff with full jitter between ``base_s`` and ``cap_s``."""

    attempts: int = 6
    base_s: float = 0.5
    cap_s: float = 10.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0, min(self.cap_s, self.base_s * 2**attempt))


def error_code(exc: BaseException) -> str | None:
    """The AWS error code of a botocore ``ClientError`` (None for anything else)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict):
        code = response.get("Error", {}).get("Code")
        if code:
            return str(code)
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return str(status) if status else None
    return None


def call(
    fn: Callable[..., T],
    /,
    *args: Any,
    what: str,
    policy: RetryPolicy | None = None,
    error: Callable[[str, str | None], CanaryError] | None = None,
    passthrough: frozenset[str] = frozenset(),
    sleep: Callable[[float], None] = time.sleep,
    **kwargs: Any,
) -> T:
    """Call a boto3 client method with our bounded retry on throttling and transient faults.

    Any other ``ClientError`` (and, after the last attempt, these too) becomes ``error(message,
    code)`` — ``PlatformError`` by default — with ``what`` saying what we were doing. A code in
    ``passthrough`` (an expected answer such as S3's 412 on a conditional write) re-raises the
    ``ClientError`` unchanged for the adapter to handle on the spot.
    """
    from botocore.exceptions import BotoCoreError, ClientError, HTTPClientError
    from botocore.exceptions import ConnectionError as BotoConnectionError

    policy = policy or RetryPolicy()
    make = error or _platform_error
    for attempt in range(policy.attempts):
        last = attempt == policy.attempts - 1
        try:
            return fn(*args, **kwargs)
        except ClientError as exc:
            code = error_code(exc)
            if code in passthrough:
                raise
            if last or not (code in THROTTLING_CODES or code in TRANSIENT_CODES):
                message = exc.response.get("Error", {}).get("Message") or str(exc)
                if code in QUOTA_CODES:
                    message += (
                        " [an AWS service quota was reached: retrying cannot help; raise the"
                        " quota in Service Quotas or delete unused resources]"
                    )
                raise make(f"{what}: {message}", code) from None
        except (BotoConnectionError, HTTPClientError) as exc:  # unreachable, timed out
            if last:
                raise make(f"{what}: {exc}", type(exc).__name__) from None
        except BotoCoreError as exc:  # no credentials, bad parameters: retrying cannot help
            raise make(f"{what}: {exc}", type(exc).__name__) from None
        sleep(policy.delay(attempt))
    raise AssertionError("unreachable")  # pragma: no cover


def _platform_error(message: str, code: str | None) -> CanaryError:
    return PlatformError(message, code)
