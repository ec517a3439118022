"""The Prometheus metric source: a service's own request counter and latency histogram.

Which series, which labels: ``SeriesMapping``, built from the pipeline's ``metrics`` section
(``canaryctl.config.prometheus``): the reference backend's ``http_requests_total`` /
``http_request_duration_seconds`` by default, the sandbox router's ``canaryctl_router_*`` with
``preset: router``, or any service's own names. Stable and canary are told apart by a version
label (the platform says which version each target runs) or by a label valued
``stable``/``canary``; route classes by a route-class label.

For a window ``[start, end)`` it asks ``GET <url>/api/v1/query`` (through prometheus-api-client's
``PrometheusConnect.custom_query``, on a ``requests`` session) (Amazon Managed Prometheus:
``/workspaces/<id>/api/v1/query``, IAM action ``aps:QueryMetrics``) for the raw samples of the
mapped series — the value at ``start`` (an instant query) and every sample in ``(start, end]``
(a range selector evaluated at ``end``) — and adds up each series' increase itself, counting a
counter reset as a restart from zero.

Why not ``sum by (le) (increase(x[w]))``: Prometheus extrapolates ``increase()`` to the window
edges, so 1,000 requests in a 60 s window scraped every second read as about 1,017 — not the
counts the embedded source reports for the same traffic, and not integers. The samples give the
exact counts between the last scrape at or before ``start`` and the last one at or before ``end``.

A series that first appears inside the window (the first 500 of a route: client libraries
create a labelled series on its first increment) counts from zero when its target (``job``,
``instance``) was already scraped at ``start``; a target new to Prometheus (a canary process
that just started, or a Prometheus that just restarted) has its first sample as baseline, so a
long-running process's whole history is never counted into one window.
"""

from __future__ import annotations

import math
import os
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prometheus_api_client import PrometheusApiClientException, PrometheusConnect
from requests import RequestException, Response, Session
from requests.adapters import BaseAdapter
from requests.auth import AuthBase
from urllib3.util.retry import Retry

from canaryctl.errors import CanaryError, InvalidInput
from canaryctl.metrics.base import NoData, SourceCapabilities, Target, WindowStats

__all__ = ["PrometheusSource", "SeriesMapping", "series_increase"]

# The labels Prometheus gives every scraped series: which target (process) it came from.
_TARGET_IDENTITY = ("job", "instance")


def series_increase(baseline: float | None, samples: Iterable[float]) -> float:
    """Increase of one counter from ``baseline`` through ``samples``; a drop is a reset
    (the counter restarted from zero), so the value after it counts in full."""
    total = 0.0
    prev = baseline
    for value in samples:
        if prev is None:
            prev = value  # no value before the window: the first sample is the baseline
            continue
        total += value - prev if value >= prev else value
        prev = value
    return total


def _quote(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass(frozen=True)
class SeriesMapping:
    """Metric and label names of one service's series (see ``canaryctl.config.prometheus``)."""

    requests: str
    latency: str  # the histogram's _bucket series
    errors: str | None = None  # a counter of its own, or None: requests whose status matches
    error_status: str | None = None
    version_label: str | None = None
    target_label: str | None = None
    route_label: str | None = None
    status_label: str | None = None
    route_values: Mapping[str, str] = field(default_factory=dict)
    latency_scale: float = 1.0  # to seconds
    selector: str = ""

    @classmethod
    def from_config(cls, config: Any) -> SeriesMapping:
        labels = config.labels
        return cls(
            requests=config.requests.metric,
            latency=config.latency.metric,
            errors=config.errors.metric,
            error_status=config.errors.status,
            version_label=labels.version,
            target_label=labels.target,
            route_label=labels.route_class,
            status_label=labels.status,
            route_values=dict(config.route_classes),
            latency_scale=1e-3 if config.latency.unit == "milliseconds" else 1.0,
            selector=config.selector,
        )

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> SeriesMapping:
        """The mapping of a named preset (``gamebackend``, ``router``), e.g. for tests."""
        from canaryctl.config.prometheus import PrometheusMetricsConfig

        config = PrometheusMetricsConfig.model_validate({"url": "-", "preset": name, **overrides})
        return cls.from_config(config)

    def names(self) -> list[str]:
        return [n for n in (self.requests, self.errors, self.latency) if n]

    def target_matcher(self, target: Target, version: str | None) -> str:
        if self.target_label:
            return f"{self.target_label}={_quote(str(target))}"
        assert self.version_label is not None and version is not None
        return f"{self.version_label}={_quote(version)}"

    def route_matcher(self, route_class: str) -> str:
        assert self.route_label is not None
        if route_class in self.route_values:
            return f"{self.route_label}=~{_quote(self.route_values[route_class])}"
        return f"{self.route_label}={_quote(route_class)}"

    def kind(self, metric: Mapping[str, str]) -> str | None:
        """``requests``, ``errors``, ``latency`` or None (a series not counted)."""
        name = metric.get("__name__")
        if name == self.latency:
            return "latency"
        if name == self.errors:
            return "errors"
        if name == self.requests:
            return "requests"
        return None

    def is_error(self, metric: Mapping[str, str]) -> bool:
        if self.error_status is None or self.status_label is None:
            return False
        return re.fullmatch(self.error_status, metric.get(self.status_label, "")) is not None


class PrometheusRefused(CanaryError):
    """The server answered the query with an error status (refused a signature, bad query)."""


class _NoVersion(CanaryError):
    """The platform does not (yet) say which version a target runs."""


Versions = Callable[[], Mapping[str, str]]


class PrometheusSource:
    """Window statistics from ``url``. Unreachable, refused or empty → ``NoData`` with the
    reason. ``versions`` (needed with a version label): ``{"stable": v, "canary": v}``, or a
    callable returning it (the platform's, asked until both are known). ``adapter``: a requests
    transport adapter to send the queries through instead of the network (tests). One query at
    a time: the response of the last one is kept for its error text."""

    name = "prometheus"

    def __init__(
        self,
        url: str,
        *,
        series: SeriesMapping | None = None,
        versions: Versions | Mapping[str, str] | None = None,
        timeout: float = 5.0,
        auth: AuthBase | None = None,
        adapter: BaseAdapter | None = None,
    ) -> None:
        self.url = url.rstrip("/")
        self.series = series or SeriesMapping.preset("gamebackend")
        self.timeout = timeout
        self._versions_from = versions
        self._versions: dict[str, str] = {}
        self._auth = auth
        self._adapter = adapter
        self._session: Session | None = None
        self._client: PrometheusConnect | None = None
        self._response: Response | None = None

    @classmethod
    def capabilities(cls, config: Any) -> SourceCapabilities:
        return SourceCapabilities(
            route_classes=config.labels.route_class is not None,
            publication_delay_s=float(config.delay),
        )

    @classmethod
    def from_config(
        cls, config: Any, *, service: str, base_dir: Path, platform: Any = None
    ) -> PrometheusSource:
        from canaryctl.metrics.sigv4 import auth_for

        series = SeriesMapping.from_config(config)
        versions = None
        if series.version_label is not None:
            if platform is None:
                raise InvalidInput(
                    "metrics.labels.version: telling stable from canary by version needs a "
                    "platform (it says which version each runs); or set metrics.labels.target"
                )
            versions = _platform_versions(platform)
        return cls(
            config.url,
            series=series,
            versions=versions,
            timeout=float(config.timeout),
            auth=auth_for(config.url, config.auth),
        )

    def _http(self) -> PrometheusConnect:
        if self._client is None:
            session = Session()
            # As the httpx client did: no proxy or .netrc from the environment, but its CA bundle.
            session.trust_env = False
            env = os.environ
            session.verify = env.get("SSL_CERT_FILE") or env.get("SSL_CERT_DIR") or True
            session.hooks["response"].append(self._keep)
            # A refused connection is tried once more (httpx's retries=1); a read is not repeated.
            self._client = PrometheusConnect(
                self.url,
                session=session,
                auth=self._auth,
                timeout=self.timeout,
                retry=Retry(total=1, read=False),
            )
            if self._adapter is not None:  # in place of the retrying one PrometheusConnect mounts
                session.mount(self.url, self._adapter)
            self._session = session
        return self._client

    def _keep(self, response: Response, *args: Any, **kwargs: Any) -> None:
        self._response = response

    def _version(self, target: Target) -> str | None:
        if self.series.version_label is None:
            return None
        if str(target) not in self._versions and self._versions_from is not None:
            source = self._versions_from
            found = source() if callable(source) else source
            self._versions.update({k: v for k, v in found.items() if v})
        return self._versions.get(str(target))

    def _query(self, query: str, at: float) -> list[dict[str, Any]]:
        """``/api/v1/query`` at ``at``; raises ``RequestException`` or ``PrometheusRefused``."""
        try:
            result = self._http().custom_query(query, params={"time": repr(at)})
        except PrometheusApiClientException:  # not a 200: the kept response says what it was
            resp = self._response
            assert resp is not None
            raise PrometheusRefused(
                f"prometheus {self.url} refused the query (HTTP {resp.status_code}): "
                f"{_error_text(resp)}"
            ) from None
        except (KeyError, TypeError):  # a 200 without data.result: its status says why, below
            result = None
        assert self._response is not None
        data = self._response.json()
        if data.get("status") != "success":
            raise PrometheusRefused(f"prometheus {self.url}: {data.get('error') or data}")
        return list(data["data"]["result"] if result is None else result)

    def _selectors(self, target: Target, route_class: str | None) -> tuple[str, list[str]]:
        """The series' selector, and the target's matchers alone (plus the selector)."""
        s = self.series
        version = self._version(target)
        if s.version_label and version is None:
            raise _NoVersion(f"no {target} version known to the platform")
        base = [s.target_matcher(target, version)] + ([s.selector] if s.selector else [])
        names = "|".join(re.escape(n) for n in s.names())
        parts = [f"__name__=~{_quote(names)}", *base]
        if route_class:
            parts.append(s.route_matcher(route_class))
        return "{" + ",".join(parts) + "}", base

    def _samples(
        self, sel: str, base: list[str], start: float, end: float
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]], set[tuple[str, ...]]]:
        """The series at ``start``, their samples up to ``end``, and — when a series is new in
        the window — the targets (job, instance) already scraped at ``start``."""
        before = self._query(sel, start)
        during = self._query(f"{sel}[{max(1, math.ceil(end - start))}s]", end)
        known = {_key(b["metric"]) for b in before}
        scraped: set[tuple[str, ...]] = set()
        if any(_key(x["metric"]) not in known for x in during):
            alive = ",".join([f"__name__={_quote(self.series.requests)}", *base])
            found = self._query(f"count by (job, instance) ({{{alive}}})", start)
            scraped = {_identity(r["metric"]) for r in found}
        return before, during, scraped

    def window(
        self, target: Target, start: float, end: float, route_class: str | None = None
    ) -> WindowStats | NoData:
        what = f"{target}" + (f"/{route_class}" if route_class else "")
        s = self.series
        if route_class and s.route_label is None:
            return NoData("metrics.labels.routeClass is not set", target, route_class)
        try:
            sel, base = self._selectors(target, route_class)
            totals = _increases(s, *self._samples(sel, base, start, end), start)
        except RequestException as exc:
            reason = f"prometheus {self.url} unreachable: {type(exc).__name__}: {exc}"
            return NoData(reason[:500], target, route_class)
        except CanaryError as exc:  # refused, no credentials to sign with, no version known
            return NoData(str(exc)[:500], target, route_class)
        if not totals:
            return NoData(f"prometheus has no {s.requests} series for {what}", target, route_class)
        requests = round(totals.get(("requests", ""), 0.0))
        if requests == 0:
            reason = f"no requests recorded for {what} in [{start:.0f}, {end:.0f})"
            return NoData(reason, target, route_class)
        buckets = sorted(
            (math.inf if le == "+Inf" else float(le) * s.latency_scale, round(v))
            for (kind, le), v in totals.items()
            if kind == "latency"
        )
        return WindowStats(
            requests=requests,
            errors=min(round(totals.get(("errors", ""), 0.0)), requests),
            buckets=tuple(buckets),
            start=float(start),
            end=float(end),
        )

    def close(self) -> None:
        if self._session is not None:
            self._session.close()


def _platform_versions(platform: Any) -> Versions:
    def versions() -> dict[str, str]:
        state = platform.describe()
        return {
            role: ts.version
            for role, ts in (("stable", state.stable), ("canary", state.canary))
            if ts is not None
        }

    return versions


def _error_text(resp: Response) -> str:
    """The server's own message: AMP's ``message``, Prometheus' ``error``, or the body."""
    try:
        data = resp.json()
    except ValueError:
        data = None
    if isinstance(data, dict):
        for key in ("message", "Message", "error"):
            if isinstance(data.get(key), str):
                return str(data[key])[:300]
    return resp.text.strip()[:300] or resp.reason


def _key(metric: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted(metric.items()))


def _identity(metric: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(metric.get(label, "") for label in _TARGET_IDENTITY)


def _increases(
    series: SeriesMapping,
    before: list[dict[str, Any]],
    during: list[dict[str, Any]],
    scraped: set[tuple[str, ...]],
    start: float,
) -> dict[tuple[str, str], float]:
    """Sum of each series' increase, grouped by (requests | errors | latency, le)."""
    base = {_key(s["metric"]): float(s["value"][1]) for s in before}
    totals: dict[tuple[str, str], float] = defaultdict(float)
    for one in during:
        metric = one["metric"]
        kind = series.kind(metric)
        if kind is None:
            continue
        baseline = base.get(_key(metric))
        if baseline is None and _identity(metric) in scraped:
            baseline = 0.0  # born in the window, on a target scraped before it
        samples = [float(v) for t, v in one["values"] if float(t) > start]
        inc = series_increase(baseline, samples)
        totals[(kind, metric.get("le", ""))] += inc
        if kind == "requests" and series.is_error(metric):
            totals[("errors", "")] += inc
    return dict(totals)
