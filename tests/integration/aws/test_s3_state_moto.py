"""S3StateStore against moto's server: conditional-write lock, conditional delete, records."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from canaryctl.errors import DeploymentNotFound, LockHeld, RecordConflict, StateError
from canaryctl.state.s3 import S3StateStore

pytestmark = pytest.mark.integration

BUCKET = "canaryctl-state-staging"


@pytest.fixture
def s3(moto: str, region: str) -> Any:
    client = boto3.client("s3", region_name=region)
    client.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": region})
    return client


@pytest.fixture
def make_store(s3: Any, region: str) -> Iterator[Callable[..., S3StateStore]]:
    def make(clock: Callable[[], float] | None = None) -> S3StateStore:
        kwargs: dict[str, Any] = {"region": region}
        if clock is not None:
            kwargs["clock"] = clock
        return S3StateStore(BUCKET, "staging/", **kwargs)

    yield make


def test_a_second_deployment_is_refused_with_the_holder_named(
    make_store: Callable[..., S3StateStore],
) -> None:
    first, second = make_store(lambda: 1_790_000_000.0), make_store()
    first.acquire("gamebackend", "dep-1")

    with pytest.raises(LockHeld) as caught:
        second.acquire("gamebackend", "dep-2")
    assert caught.value.holder == "dep-1"
    assert str(caught.value) == (
        "service 'gamebackend' is locked by deployment dep-1 since 2026-09-21T14:13:20+00:00"
    )
    second.acquire("leaderboards", "dep-2")  # other services are independent
    first.acquire("gamebackend", "dep-1")  # the holder may take it again (resume)
    assert second.holder("gamebackend") == "dep-1"


def test_release_by_a_non_holder_leaves_the_lock(make_store: Callable[..., S3StateStore]) -> None:
    store = make_store()
    store.acquire("gamebackend", "dep-1")
    store.release("gamebackend", "dep-2")
    assert store.holder("gamebackend") == "dep-1"

    store.release("gamebackend", "dep-1")
    assert store.holder("gamebackend") is None
    store.acquire("gamebackend", "dep-2")
    assert store.holder("gamebackend") == "dep-2"
    store.release("nothing-locked", "dep-2")  # a no-op


def test_release_never_deletes_a_lock_taken_after_it_was_read(
    s3: Any, make_store: Callable[..., S3StateStore], monkeypatch: pytest.MonkeyPatch
) -> None:
    old = make_store()
    old.acquire("gamebackend", "dep-1")
    stale = old._read_lock("gamebackend")
    assert stale is not None
    # dep-1's lock is removed by an operator and dep-2 takes the service...
    s3.delete_object(Bucket=BUCKET, Key="staging/locks/gamebackend.json")
    make_store().acquire("gamebackend", "dep-2")
    # ...while dep-1's release still holds what it read before: If-Match refuses the delete.
    monkeypatch.setattr(old, "_read_lock", lambda service: ({"holder": "dep-1"}, stale[1]))
    old.release("gamebackend", "dep-1")

    assert make_store().holder("gamebackend") == "dep-2"


def test_records_round_trip_and_list_newest_first(make_store: Callable[..., S3StateStore]) -> None:
    now = [1_790_000_000.0]
    store = make_store(lambda: now[0])
    for i, service in enumerate(["gamebackend", "leaderboards", "gamebackend"]):
        now[0] += 60
        store.save({"id": f"dep-{i}", "service": service, "phase": "analyzing"})
    store.save({"id": "dep-0", "service": "gamebackend", "phase": "promoted"})

    assert store.load("dep-0")["phase"] == "promoted"
    assert [r["id"] for r in store.list("gamebackend")] == ["dep-2", "dep-0"]
    assert [r["id"] for r in store.list()] == ["dep-2", "dep-1", "dep-0"]
    assert [r["id"] for r in store.list(limit=1)] == ["dep-2"]
    # a resumed process (it reads the record, then writes it) indexes it again; listed once
    later = make_store(lambda: now[0] + 600)
    later.save(later.load("dep-0"))
    assert [r["id"] for r in later.list("gamebackend")] == ["dep-0", "dep-2"]


def test_missing_and_corrupt_records_are_named(
    s3: Any, make_store: Callable[..., S3StateStore]
) -> None:
    store = make_store()
    with pytest.raises(DeploymentNotFound, match="no deployment 'dep-9' in s3://"):
        store.load("dep-9")
    s3.put_object(Bucket=BUCKET, Key="staging/records/dep-8.json", Body=b"{not json")
    with pytest.raises(StateError, match="dep-8: corrupt record"):
        store.load("dep-8")


def test_a_missing_bucket_is_a_state_error_with_the_aws_code(moto: str, region: str) -> None:
    store = S3StateStore.from_url("s3://no-such-bucket/staging", region=region)
    assert store.root == "s3://no-such-bucket/staging/"
    with pytest.raises(StateError, match=r"save deployment dep-1: .*\(NoSuchBucket\)"):
        store.save({"id": "dep-1", "service": "gamebackend"})


def test_control_requests_are_kept_apart_and_read_in_order(
    make_store: Callable[..., S3StateStore],
) -> None:
    now = [1_790_000_000.0]
    operator = make_store(lambda: now[0])
    engine = make_store()
    operator.post_request("dep-1", {"action": "pause", "by": "alice@laptop"})
    now[0] += 1
    operator.post_request("dep-1", {"action": "abort", "by": "bob@ci"})
    engine.save({"id": "dep-1", "service": "gamebackend", "phase": "analyzing"})  # no loss

    seen = engine.requests("dep-1")
    assert [(r["action"], r["by"]) for r in seen] == [
        ("pause", "alice@laptop"),
        ("abort", "bob@ci"),
    ]
    assert seen[0]["at"] == 1_790_000_000.0 and len({r["id"] for r in seen}) == 2
    assert engine.requests("dep-2") == []
    assert engine.requests("dep-1") == seen  # polled again: same answer


def test_a_missing_lock_or_record_answered_403_reads_as_missing(
    make_store: Callable[..., S3StateStore], aws_behaviour: Callable[..., Any]
) -> None:
    # S3 answers 403 for a missing key to a role without s3:ListBucket (the layer does that).
    aws_behaviour()
    store = make_store()
    assert store.holder("gamebackend") is None  # never locked: the object does not exist
    with pytest.raises(DeploymentNotFound, match="no deployment 'dep-9'"):
        store.load("dep-9")
    store.acquire("gamebackend", "dep-1")
    assert store.holder("gamebackend") == "dep-1"
    store.release("gamebackend", "dep-1")
    assert store.holder("gamebackend") is None  # released: missing again, 403 again
    store.save({"id": "dep-1", "service": "gamebackend", "phase": "promoted"})
    assert store.load("dep-1")["phase"] == "promoted"


def test_a_second_writer_is_refused_not_merged(make_store: Callable[..., S3StateStore]) -> None:
    make_store().save({"id": "dep-1", "service": "gamebackend", "phase": "analyzing"})
    old, new = make_store(), make_store()
    mine, theirs = old.load("dep-1"), new.load("dep-1")
    theirs.update(phase="rolling_back", engine={"pid": 2, "host": "laptop"})
    new.save(theirs)
    mine["phase"] = "promoting"
    with pytest.raises(RecordConflict, match=r"dep-1 was written by another .*pid 2 on laptop"):
        old.save(mine)
    with pytest.raises(RecordConflict):  # never read: a blind overwrite is refused too
        make_store().save({"id": "dep-1", "service": "gamebackend", "phase": "promoted"})
    assert make_store().load("dep-1")["phase"] == "rolling_back"
    theirs["phase"] = "rolled_back"
    new.save(theirs)  # the winner goes on writing
    assert make_store().load("dep-1")["rev"] == 3
