"""S3StateStore's lock races with botocore's Stubber (the moto integration tests cover the
ordinary paths): answers S3 gives under contention that moto does not produce."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import ANY, Stubber

from canaryctl.aws import RetryPolicy
from canaryctl.errors import LockHeld, StateError
from canaryctl.state.s3 import S3StateStore

KEY = "staging/locks/gamebackend.json"


@pytest.fixture
def rig() -> Iterator[tuple[S3StateStore, Stubber]]:
    s3 = boto3.client(
        "s3", region_name="eu-west-1", aws_access_key_id="t", aws_secret_access_key="t"
    )
    store = S3StateStore(
        "state", "staging", client=s3, retry=RetryPolicy(attempts=3, base_s=0.0, cap_s=0.0)
    )
    with Stubber(s3) as stub:
        yield store, stub
        stub.assert_no_pending_responses()


def put_lock() -> dict[str, Any]:
    return {
        "Bucket": "state",
        "Key": KEY,
        "Body": ANY,
        "ContentType": "application/json",
        "IfNoneMatch": "*",
    }


def body(data: bytes) -> dict[str, Any]:
    return {"Body": StreamingBody(io.BytesIO(data), len(data)), "ETag": '"e1"'}


def test_a_lock_released_between_our_write_and_read_is_taken_on_the_next_try(
    rig: tuple[S3StateStore, Stubber],
) -> None:
    store, stub = rig
    stub.add_client_error("put_object", "PreconditionFailed", "At least one...", 412, put_lock())
    stub.add_client_error("get_object", "NoSuchKey", "gone", 404, {"Bucket": "state", "Key": KEY})
    stub.add_response("put_object", {"ETag": '"e2"'}, put_lock())
    store.acquire("gamebackend", "dep-2")


def test_a_conflicting_concurrent_write_is_retried(rig: tuple[S3StateStore, Stubber]) -> None:
    store, stub = rig
    stub.add_client_error("put_object", "ConditionalRequestConflict", "busy", 409, put_lock())
    stub.add_response("put_object", {"ETag": '"e2"'}, put_lock())
    store.acquire("gamebackend", "dep-2")


def test_an_unreadable_lock_still_refuses_and_says_so(rig: tuple[S3StateStore, Stubber]) -> None:
    store, stub = rig
    stub.add_client_error("put_object", "PreconditionFailed", "At least one...", 412, put_lock())
    stub.add_response("get_object", body(b"\x00garbage"), {"Bucket": "state", "Key": KEY})
    with pytest.raises(LockHeld, match="locked by deployment unknown \\(unreadable lock object\\)"):
        store.acquire("gamebackend", "dep-2")


def test_release_sends_if_match_with_the_etag_it_read(rig: tuple[S3StateStore, Stubber]) -> None:
    store, stub = rig
    lock = json.dumps({"holder": "dep-1", "since": "2026-11-22T12:00:00+00:00"}).encode()
    stub.add_response("get_object", body(lock), {"Bucket": "state", "Key": KEY})
    stub.add_response("delete_object", {}, {"Bucket": "state", "Key": KEY, "IfMatch": '"e1"'})
    store.release("gamebackend", "dep-1")


def test_access_denied_is_a_state_error_with_the_code(rig: tuple[S3StateStore, Stubber]) -> None:
    store, stub = rig
    stub.add_client_error("put_object", "AccessDenied", "Access Denied", 403, put_lock())
    with pytest.raises(
        StateError, match=r"lock service gamebackend: Access Denied \(AccessDenied\)"
    ):
        store.acquire("gamebackend", "dep-2")


def test_403_on_an_object_that_exists_is_an_error_naming_the_permission(
    rig: tuple[S3StateStore, Stubber],
) -> None:
    store, stub = rig
    get = {"Bucket": "state", "Key": KEY}
    listing = {"Bucket": "state", "Prefix": KEY, "MaxKeys": 1}
    stub.add_client_error("get_object", "AccessDenied", "Access Denied", 403, get)
    stub.add_response("list_objects_v2", {"Contents": [{"Key": KEY}], "KeyCount": 1}, listing)
    with pytest.raises(StateError) as denied:
        store.holder("gamebackend")
    assert str(denied.value) == (
        "read the lock of service gamebackend: access denied to "
        f"s3://state/{KEY} (AccessDenied); the role needs s3:GetObject on it"
    )

    stub.add_client_error("get_object", "AccessDenied", "Access Denied", 403, get)
    stub.add_client_error("list_objects_v2", "AccessDenied", "Access Denied", 403, listing)
    with pytest.raises(StateError, match="the role needs s3:GetObject on the objects and "):
        store.holder("gamebackend")

    stub.add_client_error("get_object", "AccessDenied", "Access Denied", 403, get)
    stub.add_response("list_objects_v2", {"KeyCount": 0}, listing)
    assert store.holder("gamebackend") is None  # 403, but the listing shows it is missing
