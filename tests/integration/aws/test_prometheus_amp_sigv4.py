"""The Prometheus source against a loopback stand-in for Amazon Managed Prometheus' query API
that checks SigV4 the way AWS documents it, in code of its own (canonical request from the
request as received → string to sign → derived key → HMAC; no botocore): the source's signed
requests, with credentials from the environment (the usual chain), are answered; an unsigned
request and one signed with the wrong secret are refused with AMP's 403, and the source says
so in its no-data reason instead of raising.

Reference: https://docs.aws.amazon.com/IAM/latest/UserGuide/create-signed-request.html (the
algorithm) and https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-APIReference-QueryMetrics.html
(``GET /workspaces/<id>/api/v1/query``, action ``aps:QueryMetrics``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urlsplit

import pytest

from canaryctl import aws
from canaryctl.config.prometheus import PrometheusMetricsConfig
from canaryctl.metrics.base import NoData, Target, WindowStats
from canaryctl.metrics.prometheus import PrometheusSource
from canaryctl.platforms.base import PlatformState, TaskSet, Weights

pytestmark = pytest.mark.integration

ACCESS_KEY, SECRET = "AKIDAMPTEST", "amp/test/secret+key"
REGION, WORKSPACE = "eu-west-1", "ws-0f1e2d3c-4b5a"
START, END = 1_800_000_000.0, 1_800_000_060.0


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _canonical_query(raw: str) -> str:
    """Each name and value decoded, then encoded as RFC 3986 says (unreserved kept), sorted."""
    pairs = []
    for part in filter(None, raw.split("&")):
        name, _, value = part.partition("=")
        pairs.append((quote(unquote(name), safe="-_.~"), quote(unquote(value), safe="-_.~")))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def expected_signature(
    method: str, target: str, headers: dict[str, str], body: bytes, stamp: str, names: list[str]
) -> str:
    parts = urlsplit(target)
    canonical = "\n".join(
        [
            method,
            quote(unquote(parts.path), safe="/-_.~"),
            _canonical_query(parts.query),
            "".join(f"{n}:{' '.join(headers[n].split())}\n" for n in names),
            ";".join(names),
            hashlib.sha256(body).hexdigest(),
        ]
    )
    day = stamp[:8]
    scope = f"{day}/{REGION}/aps/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(f"AWS4{SECRET}".encode(), day)
    for piece in (REGION, "aps", "aws4_request"):
        key = _hmac(key, piece)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def verify(method: str, target: str, headers: dict[str, str], body: bytes) -> str | None:
    """None when the request is signed by ACCESS_KEY/SECRET for aps in REGION, else why not."""
    auth = headers.get("authorization")
    if not auth:
        return "Missing Authentication Token"
    algorithm, _, rest = auth.partition(" ")
    fields = dict(p.strip().split("=", 1) for p in rest.split(","))
    credential = fields.get("Credential", "").split("/")
    stamp = headers.get("x-amz-date", "")
    if algorithm != "AWS4-HMAC-SHA256" or len(credential) != 5 or credential[0] != ACCESS_KEY:
        return "The security token included in the request is invalid."
    if credential[1:] != [stamp[:8], REGION, "aps", "aws4_request"]:
        return "Credential should be scoped to a valid region and service aps."
    sent = dt.datetime.strptime(stamp, "%Y%m%dT%H%M%SZ").replace(tzinfo=dt.UTC)
    if abs((dt.datetime.now(dt.UTC) - sent).total_seconds()) > 300:
        return "Signature expired"
    names = fields.get("SignedHeaders", "").split(";")
    if "host" not in names or any(n not in headers for n in names):
        return "'Host' or a signed header is missing"
    want = expected_signature(method, target, headers, body, stamp, names)
    if not hmac.compare_digest(want, fields.get("Signature", "")):
        return (
            "The request signature we calculated does not match the signature you provided. "
            "Check your AWS Secret Access Key and signing method."
        )
    return None


def _series(status: str, value: float) -> dict[str, Any]:
    labels = {"route_class": "wallet", "method": "POST", "status": status, "version": "v2"}
    return {"__name__": "http_requests_total", "job": "gb", "instance": "10.0.1.5:8080", **labels}


# What the workspace holds for the canary (v2): at START and over the window.
BEFORE = [(_series("200", 0), 100.0), (_series("500", 0), 2.0)]
DURING = [(_series("200", 0), [140.0, 190.0]), (_series("500", 0), [2.0, 7.0])]
BUCKETS = [("0.1", 90.0, [130.0, 180.0]), ("+Inf", 102.0, [142.0, 197.0])]


def _bucket(le: str) -> dict[str, str]:
    return {
        "__name__": "http_request_duration_seconds_bucket",
        "job": "gb",
        "instance": "10.0.1.5:8080",
        "route_class": "wallet",
        "version": "v2",
        "le": le,
    }


def answer(query: str, at: float, born: bool = False) -> dict[str, Any]:
    """``born``: the 500s' series appears in the window (absent at START)."""
    if query.startswith("count by (job, instance) ("):
        result = [{"metric": {"job": "gb", "instance": "10.0.1.5:8080"}, "value": [at, "3"]}]
        return {"status": "success", "data": {"resultType": "vector", "result": result}}
    if query.endswith("s]"):
        result = [
            {"metric": m, "values": [[START + 30, str(a)], [END, str(b)]]} for m, (a, b) in DURING
        ] + [
            {"metric": _bucket(le), "values": [[START + 30, str(a)], [END, str(b)]]}
            for le, _, (a, b) in BUCKETS
        ]
        return {"status": "success", "data": {"resultType": "matrix", "result": result}}
    result = [{"metric": m, "value": [at, str(v)]} for m, v in BEFORE[: 1 if born else 2]]
    result += [{"metric": _bucket(le), "value": [at, str(v)]} for le, v, _ in BUCKETS]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


@dataclass
class FrontDoor:
    """The loopback query API; ``seen`` holds each request: (query, refusal or None)."""

    url: str
    seen: list[tuple[str, str | None]] = field(default_factory=list)
    born: bool = False


@pytest.fixture
def front_door() -> Iterator[FrontDoor]:
    door = FrontDoor("")

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            headers = {k.lower(): v for k, v in self.headers.items()}
            why = verify("GET", self.path, headers, b"")
            parts = urlsplit(self.path)
            params = dict(p.split("=", 1) for p in parts.query.split("&") if p)
            query = unquote(params.get("query", ""))
            door.seen.append((query, why))
            if why is not None:
                self._send(403, {"message": why})
            elif parts.path != f"/workspaces/{WORKSPACE}/api/v1/query":
                self._send(404, {"message": "not found"})
            else:
                at = float(unquote(params.get("time", "0")))
                self._send(200, answer(query, at, door.born))

        def _send(self, status: int, doc: dict[str, Any]) -> None:
            body = json.dumps(doc).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    door.url = f"http://127.0.0.1:{server.server_address[1]}/workspaces/{WORKSPACE}"
    try:
        yield door
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """The usual chain, from the environment: the test's key pair, no profile or config."""
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    aws.reset()
    yield
    aws.reset()


class Platform:
    """What the source asks a platform: which version each target runs."""

    def describe(self) -> PlatformState:
        def ts(version: str, role: str) -> TaskSet:
            return TaskSet(f"ts-{version}", version, role, True, 1, 1)

        return PlatformState(ts("v1", "stable"), ts("v2", "canary"), Weights(90, 10))


def source(url: str, auth: dict[str, Any] | None) -> PrometheusSource:
    """The source as a pipeline builds it: ``metrics: {type: prometheus, url, selector, auth}``."""
    doc: dict[str, Any] = {"url": url, "selector": '{job="gb"}'}
    if auth is not None:
        doc["auth"] = auth
    config = PrometheusMetricsConfig.model_validate(doc)
    return PrometheusSource.from_config(
        config, service="gb", base_dir=Path("."), platform=Platform()
    )


def test_signed_queries_are_answered(front_door: FrontDoor, credentials: None) -> None:
    src = source(front_door.url, {"type": "sigv4", "region": REGION})
    try:
        got = src.window(Target.CANARY, START, END, "wallet")
    finally:
        src.close()

    assert isinstance(got, WindowStats), got
    # 100 → 190 answered (status 200) + 2 → 7 failed (status 500): 95 requests, 5 errors.
    assert (got.requests, got.errors) == (95, 5)
    assert got.buckets == ((0.1, 90), (float("inf"), 95))
    assert [why for _, why in front_door.seen] == [None, None]
    first = front_door.seen[0][0]
    assert 'version="v2"' in first and 'route_class="wallet"' in first and 'job="gb"' in first


def test_a_query_with_spaces_is_signed_over_its_canonical_form(
    front_door: FrontDoor, credentials: None
) -> None:
    front_door.born = True  # the 500s are new in the window: a third query, with spaces
    src = source(front_door.url, {"type": "sigv4", "region": REGION})
    try:
        got = src.window(Target.CANARY, START, END, "wallet")
    finally:
        src.close()

    assert [why for _, why in front_door.seen] == [None, None, None]
    assert front_door.seen[2][0].startswith("count by (job, instance) ({")
    assert isinstance(got, WindowStats) and (got.requests, got.errors) == (97, 7), got


def test_a_session_token_is_signed_too(
    front_door: FrontDoor, credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "FwoGZXIvYXdzEJr//token")
    aws.reset()
    src = source(front_door.url, {"type": "sigv4", "region": REGION})
    try:
        assert isinstance(src.window(Target.CANARY, START, END, "wallet"), WindowStats)
    finally:
        src.close()
    assert front_door.seen and all(why is None for _, why in front_door.seen)


def test_an_unsigned_query_is_refused_and_said_so(front_door: FrontDoor, credentials: None) -> None:
    src = source(front_door.url, None)  # a loopback URL is not AMP's: not signed by default
    try:
        got = src.window(Target.CANARY, START, END, "wallet")
    finally:
        src.close()

    assert front_door.seen == [(front_door.seen[0][0], "Missing Authentication Token")]
    assert isinstance(got, NoData)
    assert got.reason == (
        f"prometheus {front_door.url} refused the query (HTTP 403): Missing Authentication Token"
    )


def test_a_wrong_secret_is_refused_and_said_so(
    front_door: FrontDoor, credentials: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET + "x")
    aws.reset()
    src = source(front_door.url, {"type": "sigv4", "region": REGION})
    try:
        got = src.window(Target.CANARY, START, END, "wallet")
    finally:
        src.close()

    assert [why for _, why in front_door.seen] == [
        "The request signature we calculated does not match the signature you provided. "
        "Check your AWS Secret Access Key and signing method."
    ]
    assert isinstance(got, NoData)
    assert "refused the query (HTTP 403): The request signature we calculated" in got.reason


def test_the_wrong_region_is_refused(front_door: FrontDoor, credentials: None) -> None:
    src = source(front_door.url, {"type": "sigv4", "region": "us-east-1"})
    try:
        got = src.window(Target.CANARY, START, END)
    finally:
        src.close()
    assert isinstance(got, NoData) and "scoped to a valid region" in got.reason
