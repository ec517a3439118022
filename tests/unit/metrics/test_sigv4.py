"""SigV4 for AMP: the signature is checked against an independent implementation of the
algorithm as AWS documents it (canonical request → string to sign → derived key → HMAC)."""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from types import SimpleNamespace
from urllib.parse import quote, urlsplit

import pytest

from canaryctl.errors import MetricsError
from canaryctl.metrics.sigv4 import amp_region, canonical_url, is_amp_url, sign_request

WORKSPACE = "https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-0f1e2d3c-4b5a"
NOW = dt.datetime(2026, 11, 22, 12, 0, 0)
CREDS = SimpleNamespace(access_key="AKIDEXAMPLE", secret_key="wJalrXUtnFEMI/K7MDENG", token=None)


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def expected_authorization(method: str, url: str, body: bytes, signed: dict[str, str]) -> str:
    """SigV4 as documented, written without botocore."""
    parts = urlsplit(url)
    pairs = sorted(p.split("=", 1) for p in parts.query.split("&")) if parts.query else []
    query = "&".join(f"{k}={v}" for k, v in pairs)
    headers = {k.lower(): v.strip() for k, v in signed.items()}
    names = ";".join(sorted(headers))
    canonical = "\n".join(
        [
            method,
            quote(parts.path, safe="/-_.~"),
            query,
            "".join(f"{k}:{headers[k]}\n" for k in sorted(headers)),
            names,
            hashlib.sha256(body).hexdigest(),
        ]
    )
    stamp, day = NOW.strftime("%Y%m%dT%H%M%SZ"), NOW.strftime("%Y%m%d")
    scope = f"{day}/eu-west-1/aps/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(f"AWS4{CREDS.secret_key}".encode(), day)
    for part in ("eu-west-1", "aps", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    credential = f"Credential={CREDS.access_key}/{scope}"
    return f"AWS4-HMAC-SHA256 {credential}, SignedHeaders={names}, Signature={signature}"


@pytest.fixture(autouse=True)
def frozen_time(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("botocore.auth.get_current_datetime", lambda: NOW)


def test_amp_urls_are_recognised() -> None:
    assert is_amp_url(f"{WORKSPACE}/api/v1/query")
    assert amp_region(f"{WORKSPACE}/api/v1/query") == "eu-west-1"
    assert not is_amp_url("http://127.0.0.1:9090/api/v1/query")
    assert not is_amp_url("https://aps-workspaces.eu-west-1.amazonaws.com/other/path")
    assert not is_amp_url(
        "https://aps-workspaces.eu-west-1.amazonaws.com.evil.example/workspaces/x"
    )


def test_a_get_query_is_signed_over_its_canonical_url() -> None:
    url = f"{WORKSPACE}/api/v1/query?time=1800000000&query=sum by (route) (rate(x[1m]))"
    sent = canonical_url(url)
    assert sent == (
        f"{WORKSPACE}/api/v1/query?query=sum%20by%20%28route%29%20%28rate%28x%5B1m%5D%29%29"
        "&time=1800000000"
    )
    headers = sign_request("GET", url, {}, None, None, credentials=CREDS)

    assert headers["X-Amz-Date"] == "20261122T120000Z"
    signed = {"host": "aps-workspaces.eu-west-1.amazonaws.com", "x-amz-date": "20261122T120000Z"}
    assert headers["Authorization"] == expected_authorization("GET", sent, b"", signed)


def test_a_post_body_is_signed_and_session_tokens_are_sent() -> None:
    creds = SimpleNamespace(access_key=CREDS.access_key, secret_key=CREDS.secret_key, token="T0K")
    body = b"query=up&time=1800000000"
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    headers = sign_request("POST", f"{WORKSPACE}/api/v1/query", form, body, None, credentials=creds)

    assert headers["X-Amz-Security-Token"] == "T0K"
    assert headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert (
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token,"
        in (headers["Authorization"])
    )


def test_no_region_is_a_clear_error() -> None:
    with pytest.raises(MetricsError, match="cannot tell the AWS region"):
        sign_request("GET", "https://prometheus.internal/api/v1/query", {}, None, None)
