"""SigV4 signing for Amazon Managed Service for Prometheus (AMP) query URLs.

The Prometheus source's HTTP client (prometheus-api-client on a ``requests`` session) gets
``auth_for(url, config.auth)``: a ``SigV4`` requests auth that adds ``sign_request(...)``'s
headers to every request when the pipeline says ``auth: {type: sigv4}``, or by default when
``is_amp_url(url)``. Credentials come from the standard chain (environment, profile, the GitHub
OIDC role's web identity, instance/task role) through canaryctl's boto3 session; the service
name is ``aps``. AMP refuses unsigned query requests
(https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-onboard-query-APIs.html); the
query API is ``GET``/``POST /workspaces/<id>/api/v1/query``, IAM action ``aps:QueryMetrics``
(https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-APIReference-QueryMetrics.html).

AWS recomputes the canonical query string from the request it receives (RFC 3986: every byte
but ``A-Z a-z 0-9 - _ . ~`` percent-encoded, parameters sorted). ``sign_request`` signs that
canonical form, so the request must carry the same bytes: send GET requests to
``canonical_url(url)``, or put the query in a POST form body (the body is signed as bytes).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from requests import PreparedRequest
from requests.auth import AuthBase

from canaryctl import aws
from canaryctl.errors import MetricsError

__all__ = ["SigV4", "amp_region", "auth_for", "canonical_url", "is_amp_url", "sign_request"]

# aps-workspaces.<region>.amazonaws.com (and the FIPS and China partition spellings)
_AMP_HOST = re.compile(
    r"^aps-workspaces(?:-fips)?\.(?P<region>[a-z]{2}(?:-[a-z]+)+-\d+)\.amazonaws\.com(?:\.cn)?$"
)


def amp_region(url: str) -> str | None:
    """The region of an AMP workspace URL, or None when the URL is not one."""
    parts = urlsplit(url)
    match = _AMP_HOST.match(parts.hostname or "")
    if not match or not parts.path.startswith("/workspaces/"):
        return None
    return match.group("region")


def is_amp_url(url: str) -> bool:
    """True for ``https://aps-workspaces.<region>.amazonaws.com/workspaces/<id>/...``."""
    return amp_region(url) is not None


def canonical_url(url: str) -> str:
    """``url`` with its query encoded as SigV4 canonicalizes it (what ``sign_request`` signs)."""
    parts = urlsplit(url)
    pairs = sorted(parse_qsl(parts.query, keep_blank_values=True))
    query = urlencode(pairs, quote_via=quote, safe="-_.~")
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", query, ""))


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes | str | None,
    region: str | None,
    *,
    credentials: Any = None,
) -> dict[str, str]:
    """The headers to send: ``headers`` plus ``Authorization``, ``X-Amz-Date`` and (with
    temporary credentials) ``X-Amz-Security-Token``. ``region`` defaults to the URL's."""
    from botocore.auth import SigV4Auth
    from botocore.awsrequest import AWSRequest

    region = region or amp_region(url)
    if not region:
        raise MetricsError(f"cannot tell the AWS region of {url}: set metrics.auth.region")
    creds = credentials if credentials is not None else aws.session().get_credentials()
    if creds is None:
        raise MetricsError(f"no AWS credentials to sign requests to {url}")
    frozen = creds.get_frozen_credentials() if hasattr(creds, "get_frozen_credentials") else creds
    data = body.encode() if isinstance(body, str) else (body or b"")
    request = AWSRequest(method=method.upper(), url=canonical_url(url), data=data)
    for name, value in headers.items():
        request.headers[name] = value
    SigV4Auth(frozen, "aps", region).add_auth(request)
    return {name: str(value) for name, value in request.headers.items()}


class SigV4(AuthBase):
    """requests auth: each request is re-encoded to its canonical URL and signed (service
    ``aps``). ``region`` None: the URL's (AMP), else the AWS configuration's."""

    def __init__(self, region: str | None = None, *, credentials: Any = None) -> None:
        self.region = region
        self.credentials = credentials

    def __call__(self, request: PreparedRequest) -> PreparedRequest:
        url = canonical_url(str(request.url))
        region = self.region or amp_region(url) or _configured_region(url)
        # Only the Host header and the signature's own headers are signed: anything a proxy
        # may rewrite (Connection, Accept-Encoding) stays out of the signature.
        body = request.body
        if body is not None and not isinstance(body, bytes | str):  # a stream: not hashable here
            raise MetricsError(f"cannot sign a streamed request body to {url}")
        signed = {"Content-Type": str(request.headers["Content-Type"])} if body else {}
        headers = sign_request(
            str(request.method), url, signed, body, region, credentials=self.credentials
        )
        request.url = url
        request.headers.update(headers)
        return request


def _configured_region(url: str) -> str:
    region = aws.session().region_name
    if not region:
        raise MetricsError(
            f"cannot tell the AWS region to sign requests to {url} with: set metrics.auth.region"
        )
    return str(region)


def auth_for(url: str, config: Any) -> SigV4 | None:
    """The auth of the Prometheus source: ``config`` is the pipeline's ``metrics.auth``
    (``{type: sigv4, region}``, ``{type: none}``, or None: sign AMP URLs only)."""
    kind = getattr(config, "type", None)
    if kind == "none":
        return None
    if kind == "sigv4" or (kind is None and is_amp_url(url)):
        return SigV4(getattr(config, "region", None))
    return None
