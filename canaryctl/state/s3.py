"""Deployment records and the per-service lock in an S3 bucket (for the ECS platform).

Layout under ``s3://BUCKET/PREFIX``:

    records/<deployment id>.json          the record (write-ahead: a completed PUT is durable)
    requests/<id>/<time ns>-<rand>.json   control requests (abort, pause, …), never rewritten
    index/<service>/<inverted ms>_<id>    empty; lists a service's deployments newest first
    locks/<service>.json                  {"holder", "since", "host", "pid"} while locked

The lock is one conditional write: ``PutObject`` with ``If-None-Match: *`` succeeds for exactly
one writer; the others get 412 and read the holder from the object. Release deletes with
``If-Match: <ETag>``, so it removes only the lock object we read — never one another deployment
created in the meantime. Why S3 rather than DynamoDB: see docs/aws.md.

Records are written conditionally too: a record carries its revision (``rev``), and a save is a
``PutObject`` with ``If-Match: <ETag>`` of the object at the revision the record was read at (a
new record: ``If-None-Match: *``). When another process took the deployment over, the old
writer's next save gets 412 and raises ``RecordConflict``: a second writer is refused, never
merged (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
"""

from __future__ import annotations

import builtins
import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from canaryctl import aws
from canaryctl.errors import (
    CanaryError,
    DeploymentNotFound,
    LockHeld,
    RecordConflict,
    StateError,
)

__all__ = ["S3StateStore"]

_MISSING = frozenset({"NoSuchKey", "404"})
# S3 answers 403, not 404, for a key that does not exist when the caller lacks s3:ListBucket
# on the bucket (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
# "Permissions"); a role whose ListBucket carries a prefix condition gets 403 too. Only a
# listing can then tell "missing" from "denied": see ``_missing_or_denied``.
_DENIED = frozenset({"AccessDenied", "403"})
_CONFLICT = frozenset({"PreconditionFailed", "412"})
_INVERT_MS = 10**13  # inverted milliseconds sort newest first until the year 2286


def _state_error(message: str, code: str | None) -> CanaryError:
    return StateError(f"{message} ({code})" if code else message)


class S3StateStore:
    """``StateStore`` on S3 conditional writes. The bucket must exist (Terraform creates it)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "canaryctl/",
        *,
        region: str | None = None,
        client: Any = None,
        retry: aws.RetryPolicy | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not bucket:
            raise StateError("the S3 state store needs a bucket")
        self.bucket = bucket
        self.prefix = prefix if not prefix or prefix.endswith("/") else prefix + "/"
        self._s3 = client if client is not None else aws.client("s3", region=region)
        self._retry = retry or aws.RetryPolicy()
        self._clock = clock
        self._indexed: set[str] = set()
        self._seen_requests: dict[str, dict[str, Any]] = {}  # request objects are immutable
        # deployment id → (revision, ETag) of the record as this store last read or wrote it
        self._revs: dict[str, tuple[int, str]] = {}

    @classmethod
    def from_config(cls, config: Any) -> S3StateStore:
        """From any object with ``bucket`` and optional ``prefix``/``region`` attributes."""
        prefix = getattr(config, "prefix", None)
        return cls(
            str(getattr(config, "bucket", "") or ""),
            "canaryctl/" if prefix is None else str(prefix),
            region=getattr(config, "region", None),
        )

    @classmethod
    def from_url(cls, url: str, *, region: str | None = None) -> S3StateStore:
        """From ``s3://BUCKET/PREFIX`` (what ``--state-dir``/``CANARYCTL_STATE_DIR`` may say)."""
        if not url.startswith("s3://") or not url[5:].split("/", 1)[0]:
            raise StateError(f"not an S3 URL: {url!r} (expected s3://BUCKET/PREFIX)")
        bucket, _, prefix = url[5:].partition("/")
        return cls(bucket, prefix or "canaryctl/", region=region)

    @property
    def root(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def __repr__(self) -> str:
        return f"S3StateStore({self.root})"

    # -- records -------------------------------------------------------------------------

    def save(self, record: dict[str, Any]) -> None:
        """Write ``record`` if S3 still holds the revision it was read at (its ``rev``, else the
        one this store last read or wrote; none: create only), and set its ``rev`` to the new
        one. ``RecordConflict`` otherwise."""
        deployment_id = str(record["id"])
        key = self._record_key(deployment_id)
        known = self._revs.get(deployment_id)
        expected = record.get("rev", known[0] if known else None)
        condition: dict[str, Any] = {"if_none_match": True}
        rev = 1
        if expected is not None:
            if known and known[0] == expected:
                etag = known[1]
            else:  # read by another store: S3 must still hold that revision
                found = self._get(key, f"load {deployment_id}")
                if found is None or _rev_of(found[0]) != expected:
                    raise RecordConflict(deployment_id, _record_of(found))
                etag = found[1]
            condition, rev = {"if_match": etag}, int(expected) + 1
        body = json.dumps({**record, "rev": rev}, sort_keys=True, default=str).encode()
        try:
            etag = self._put(key, body, f"save deployment {deployment_id}", **condition)
        except _Conflict:
            # A retried PUT whose first attempt landed (its answer lost) gets 412 too: it is
            # ours if the object holds exactly our bytes.
            found = self._get(key, f"load {deployment_id}")
            if found is None or found[0] != body:
                raise RecordConflict(deployment_id, _record_of(found)) from None
            etag = found[1]
        record["rev"] = rev
        self._revs[deployment_id] = (rev, etag)
        if deployment_id not in self._indexed:
            service = str(record.get("service") or "_")
            inverted = _INVERT_MS - int(self._clock() * 1000)
            key = f"{self.prefix}index/{service}/{inverted:013d}_{deployment_id}"
            self._put(key, b"", f"index deployment {deployment_id}")
            self._indexed.add(deployment_id)

    def load(self, deployment_id: str) -> dict[str, Any]:
        found = self._get(self._record_key(deployment_id), f"load deployment {deployment_id}")
        if found is None:
            raise DeploymentNotFound(
                f"no deployment {deployment_id!r} in s3://{self.bucket}/{self.prefix}"
            )
        return self._seen(self._decode(found[0], deployment_id), found[1])

    def list(self, service: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
        prefix = f"{self.prefix}index/{service}/" if service else f"{self.prefix}index/"
        entries: list[tuple[str, str]] = []
        for key in self._keys(prefix):
            inverted, _, deployment_id = key.rsplit("/", 1)[-1].partition("_")
            entries.append((inverted, deployment_id))
        seen: set[str] = set()
        records: list[dict[str, Any]] = []
        for _, deployment_id in sorted(entries):  # newest first across services too
            if deployment_id in seen:
                continue  # indexed again by a resumed process
            seen.add(deployment_id)
            found = self._get(self._record_key(deployment_id), f"load {deployment_id}")
            if found is not None:
                records.append(self._seen(self._decode(found[0], deployment_id), found[1]))
            if len(records) >= limit:
                break
        return records

    def _seen(self, record: dict[str, Any], etag: str) -> dict[str, Any]:
        record["rev"] = int(record.get("rev") or 0)  # records written before revisions: 0
        self._revs[str(record.get("id"))] = (record["rev"], etag)
        return record

    # -- control requests from other processes ------------------------------------------

    def post_request(self, deployment_id: str, request: dict[str, Any]) -> None:
        now = self._clock()
        request = {"id": secrets.token_hex(6), "at": now, **request}
        key = f"{self._requests_prefix(deployment_id)}{int(now * 1e9):020d}-{request['id']}.json"
        body = json.dumps(request, sort_keys=True, default=str).encode()
        try:
            self._put(key, body, f"post a request for {deployment_id}", if_none_match=True)
        except _Conflict:
            raise StateError(f"request {key} exists already") from None

    def requests(self, deployment_id: str) -> builtins.list[dict[str, Any]]:
        out: builtins.list[dict[str, Any]] = []
        for key in sorted(self._keys(self._requests_prefix(deployment_id))):
            if key not in self._seen_requests:
                found = self._get(key, f"read request {key}")
                if found is None:
                    continue
                try:
                    self._seen_requests[key] = dict(json.loads(found[0]))
                except (ValueError, TypeError):
                    continue  # an unreadable request is no request (as in the file store)
            out.append(self._seen_requests[key])
        return out

    # -- the per-service lock ------------------------------------------------------------

    def acquire(self, service: str, holder: str) -> None:
        key = self._lock_key(service)
        body = json.dumps(
            {
                "holder": holder,
                "since": datetime.fromtimestamp(self._clock(), UTC).isoformat(timespec="seconds"),
                "host": socket.gethostname(),
                "pid": os.getpid(),
            }
        ).encode()
        for _ in range(3):
            try:
                self._put(key, body, f"lock service {service}", if_none_match=True)
                return
            except _Conflict:
                current = self._read_lock(service)
                if current is None:
                    continue  # released between our write and our read: try again
                if current[0].get("holder") == holder:
                    return  # ours already (a resumed deployment)
                raise LockHeld(
                    service, str(current[0].get("holder")), current[0].get("since")
                ) from None
        raise StateError(f"could not take the lock of service {service!r}: it keeps changing")

    def release(self, service: str, holder: str) -> None:
        current = self._read_lock(service)
        if current is None or current[0].get("holder") != holder:
            return  # not ours: leave it alone
        try:
            aws.call(
                self._s3.delete_object,
                what=f"unlock service {service}",
                policy=self._retry,
                error=_state_error,
                passthrough=_CONFLICT | _MISSING,
                Bucket=self.bucket,
                Key=self._lock_key(service),
                IfMatch=current[1],
            )
        except Exception as exc:
            if aws.error_code(exc) not in _CONFLICT | _MISSING:
                raise
            # 412: the object changed after we read it, so it is no longer our lock.

    def holder(self, service: str) -> str | None:
        current = self._read_lock(service)
        return str(current[0].get("holder")) if current else None

    # -- S3 ------------------------------------------------------------------------------

    @staticmethod
    def _checked(deployment_id: str) -> str:
        if not deployment_id or "/" in deployment_id:
            raise StateError(f"invalid deployment id {deployment_id!r}")
        return deployment_id

    def _record_key(self, deployment_id: str) -> str:
        return f"{self.prefix}records/{self._checked(deployment_id)}.json"

    def _requests_prefix(self, deployment_id: str) -> str:
        return f"{self.prefix}requests/{self._checked(deployment_id)}/"

    def _lock_key(self, service: str) -> str:
        return f"{self.prefix}locks/{service}.json"

    def _read_lock(self, service: str) -> tuple[dict[str, Any], str] | None:
        found = self._get(self._lock_key(service), f"read the lock of service {service}")
        if found is None:
            return None
        try:
            return dict(json.loads(found[0])), found[1]
        except (ValueError, TypeError):
            return {"holder": "unknown (unreadable lock object)"}, found[1]

    def _put(
        self,
        key: str,
        body: bytes,
        what: str,
        *,
        if_none_match: bool = False,
        if_match: str | None = None,
    ) -> str:
        """PUT ``body`` at ``key``; its new ETag. ``_Conflict`` when a condition fails."""
        extra: dict[str, Any] = {"IfNoneMatch": "*"} if if_none_match else {}
        if if_match is not None:
            extra["IfMatch"] = if_match
        try:
            answer = aws.call(
                self._s3.put_object,
                what=what,
                policy=self._retry,
                error=_state_error,
                passthrough=_CONFLICT,
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ContentType="application/json",
                **extra,
            )
        except Exception as exc:
            if aws.error_code(exc) in _CONFLICT:
                raise _Conflict from None
            raise
        return str(answer.get("ETag", ""))

    def _get(self, key: str, what: str) -> tuple[bytes, str] | None:
        try:
            answer = aws.call(
                self._s3.get_object,
                what=what,
                policy=self._retry,
                error=_state_error,
                passthrough=_MISSING | _DENIED,
                Bucket=self.bucket,
                Key=key,
            )
        except Exception as exc:
            code = aws.error_code(exc)
            if code in _MISSING:
                return None
            if code in _DENIED:
                self._missing_or_denied(key, what)
                return None
            raise
        return answer["Body"].read(), str(answer["ETag"])

    def _missing_or_denied(self, key: str, what: str) -> None:
        """GetObject said 403: return if the key does not exist (listed under its own name as a
        prefix, which the deploy role may do), raise if it exists or cannot be listed."""
        try:
            page = aws.call(
                self._s3.list_objects_v2,
                what=f"list s3://{self.bucket}/{key}",
                policy=self._retry,
                error=_state_error,
                Bucket=self.bucket,
                Prefix=key,
                MaxKeys=1,
            )
        except StateError as exc:
            raise StateError(
                f"{what}: access denied to s3://{self.bucket}/{key}, and listing it failed "
                f"too ({exc}); the role needs s3:GetObject on the objects and s3:ListBucket "
                "on the bucket"
            ) from None
        if any(obj.get("Key") == key for obj in page.get("Contents", [])):
            raise StateError(
                f"{what}: access denied to s3://{self.bucket}/{key} (AccessDenied); the role "
                "needs s3:GetObject on it"
            )

    def _keys(self, prefix: str) -> builtins.list[str]:
        keys: builtins.list[str] = []
        token: str | None = None
        while True:
            extra: dict[str, Any] = {"ContinuationToken": token} if token else {}
            page = aws.call(
                self._s3.list_objects_v2,
                what=f"list s3://{self.bucket}/{prefix}",
                policy=self._retry,
                error=_state_error,
                Bucket=self.bucket,
                Prefix=prefix,
                **extra,
            )
            keys += [obj["Key"] for obj in page.get("Contents", [])]
            token = page.get("NextContinuationToken")
            if not token:
                return keys

    def _decode(self, body: bytes, deployment_id: str) -> dict[str, Any]:
        try:
            record = json.loads(body)
        except ValueError as exc:
            raise StateError(f"deployment {deployment_id}: corrupt record in S3: {exc}") from None
        if not isinstance(record, dict):
            raise StateError(f"deployment {deployment_id}: the S3 record is not an object")
        return record


def _record_of(found: tuple[bytes, str] | None) -> dict[str, Any] | None:
    """The record in a GetObject answer, or None when it is gone or unreadable."""
    try:
        record = json.loads(found[0]) if found else None
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _rev_of(body: bytes) -> int | None:
    record = _record_of((body, ""))
    return None if record is None else int(record.get("rev") or 0)


class _Conflict(Exception):
    """S3 answered 412 to a conditional write."""
