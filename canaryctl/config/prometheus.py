"""The ``metrics: {type: prometheus}`` section: which server, which series, how to sign.

    metrics:
      type: prometheus
      url: https://aps-workspaces.eu-west-1.amazonaws.com/workspaces/ws-1234   # or a Prometheus
      preset: gamebackend            # the defaults below; ``router``: the sandbox router's series
      selector: '{job="gamebackend"}'
      requests: {metric: http_requests_total}
      errors: {status: 5xx}          # requests whose status label matches; or {metric: name}
      latency: {metric: http_request_duration_seconds_bucket, unit: seconds}
      labels: {version: version, routeClass: route_class, status: status}
      routeClasses: {inventory: 'inventory|store'}     # label values of a route class (regex)
      delay: 15s                     # how late a moment's data is complete (~ scrape interval)
      auth: {type: sigv4, region: eu-west-1}            # AMP URLs are signed without it too

A preset fills every mapping key the pipeline leaves out, key by key (``labels: {status:
code}`` keeps the preset's other labels). Stable and canary are told apart by ``labels.version``
(the platform says which version each runs) or ``labels.target`` (a label whose values are
``stable`` and ``canary``, as on the router); setting one drops the preset's other.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from canaryctl.config.models import Duration, Model, PositiveDuration, field_error, suggest
from canaryctl.metrics.routes import ROUTE_CLASSES

__all__ = [
    "PRESETS",
    "ErrorSeries",
    "LatencySeries",
    "NoAuth",
    "PrometheusMetricsConfig",
    "RequestSeries",
    "SeriesLabels",
    "SigV4Auth",
]

_METRIC = re.compile(r"^[A-Za-z_:][A-Za-z0-9_:]*$")
_LABEL = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# One PromQL label matcher: name, operator, double-quoted value (backslash escapes allowed).
_MATCHER = r'\s*[A-Za-z_][A-Za-z0-9_]*\s*(?:=~|!~|!=|=)\s*"(?:[^"\\]|\\.)*"\s*'
_MATCHERS = re.compile(rf"^(?:{_MATCHER}(?:,{_MATCHER})*,?\s*)?$")
_STATUS_CLASS = re.compile(r"\b([1-5])xx\b", re.IGNORECASE)

# The reference backend's series (gamebackend/observability.py) and the sandbox router's own
# (canaryctl/platforms/local/stats.py).
PRESETS: dict[str, dict[str, Any]] = {
    "gamebackend": {
        "requests": {"metric": "http_requests_total"},
        "errors": {"status": "5.."},
        "latency": {"metric": "http_request_duration_seconds_bucket"},
        "labels": {"version": "version", "routeClass": "route_class", "status": "status"},
    },
    "router": {
        "requests": {"metric": "canaryctl_router_requests_total"},
        "errors": {"metric": "canaryctl_router_errors_total"},
        "latency": {"metric": "canaryctl_router_request_duration_seconds_bucket"},
        "labels": {"target": "target_group", "routeClass": "route_class"},
    },
}
_TARGET_KEYS = ("version", "target")


def _metric_name(value: str) -> str:
    if not _METRIC.match(value):
        raise ValueError(f"not a Prometheus metric name: {value!r}")
    return value


def _label_name(value: str) -> str:
    if not _LABEL.match(value):
        raise ValueError(f"not a Prometheus label name: {value!r}")
    return value


def _selector(value: str) -> str:
    inner = value.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    if not _MATCHERS.match(inner):
        raise ValueError(
            f"not a list of label matchers: {value!r} (write e.g. '{{job=\"gamebackend\"}}')"
        )
    return inner.strip().rstrip(",").strip()


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"not a regular expression: {value!r} ({exc})") from None
    return value


def _status(value: str) -> str:
    return _regex(_STATUS_CLASS.sub(lambda m: m.group(1) + "..", str(value)))


def _route_class(name: str) -> str:
    if name not in ROUTE_CLASSES:
        known = ", ".join(ROUTE_CLASSES)
        raise ValueError(
            f"unknown route class {name!r} (known: {known}){suggest(name, list(ROUTE_CLASSES))}"
        )
    return name


MetricName = Annotated[str, AfterValidator(_metric_name)]
LabelName = Annotated[str, AfterValidator(_label_name)]
Regex = Annotated[str, AfterValidator(_regex)]


class RequestSeries(Model):
    """The counter of answered requests (every status)."""

    metric: MetricName


class ErrorSeries(Model):
    """Failed requests: the requests counter's series whose ``labels.status`` matches
    ``status`` (a regex over the whole value; ``5xx`` is short for ``5..``), or a counter of
    their own (``metric``, labelled like the requests counter)."""

    metric: MetricName | None = None
    status: Annotated[str, AfterValidator(_status)] | None = None

    @model_validator(mode="after")
    def _one(self) -> ErrorSeries:
        if (self.metric is None) == (self.status is None):
            raise ValueError("set exactly one of metric (an errors counter) or status (a regex)")
        return self


class LatencySeries(Model):
    """The latency histogram's ``_bucket`` series (the suffix is added when left out)."""

    metric: MetricName
    unit: Literal["seconds", "milliseconds"] = "seconds"

    @model_validator(mode="after")
    def _bucket(self) -> LatencySeries:
        if not self.metric.endswith("_bucket"):
            object.__setattr__(self, "metric", self.metric + "_bucket")
        return self


class SeriesLabels(Model):
    """Label names. ``version`` or ``target`` (exactly one) tells stable from canary;
    ``routeClass`` carries the route class (without it, no route-class SLOs); ``status`` the
    HTTP status (needed by ``errors.status``)."""

    version: LabelName | None = None
    target: LabelName | None = None
    route_class: LabelName | None = None
    status: LabelName | None = None

    @model_validator(mode="after")
    def _one_target(self) -> SeriesLabels:
        if (self.version is None) == (self.target is None):
            raise ValueError(
                "set exactly one of version (the version label; the platform says which "
                "version is stable and which canary) or target (a label valued stable/canary)"
            )
        return self


class SigV4Auth(Model):
    """Sign every request with AWS SigV4 (service ``aps``), credentials from the usual chain.
    ``region``: the AMP URL's, else the AWS configuration's (AWS_REGION, profile)."""

    type: Literal["sigv4"] = "sigv4"
    region: str | None = None


class NoAuth(Model):
    """Send requests unsigned (also to an AMP URL: e.g. through a signing proxy)."""

    type: Literal["none"] = "none"


class PrometheusMetricsConfig(Model):
    """A Prometheus-compatible server (Prometheus, Amazon Managed Prometheus) holding the
    service's own request counter and latency histogram. Reference: docs/pipelines.md."""

    type: Literal["prometheus"] = "prometheus"
    url: str
    timeout: PositiveDuration = 5.0
    preset: Literal["gamebackend", "router"] = "gamebackend"
    selector: Annotated[str, AfterValidator(_selector)] = ""
    requests: RequestSeries
    errors: ErrorSeries
    latency: LatencySeries
    labels: SeriesLabels
    route_classes: dict[Annotated[str, AfterValidator(_route_class)], Regex] = Field(
        default_factory=dict
    )
    delay: Duration = 15.0
    auth: Annotated[SigV4Auth | NoAuth, Field(discriminator="type")] | None = None

    @model_validator(mode="before")
    @classmethod
    def _apply_preset(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        # An unknown preset is refused by the Literal, with the known names; the defaults
        # still fill in so that it is the only error shown.
        preset = PRESETS.get(data.get("preset", "gamebackend"), PRESETS["gamebackend"])
        out = dict(data)
        for key, defaults in preset.items():
            given = out.get(key)
            if given is None:
                out[key] = dict(defaults)
            elif isinstance(given, dict):
                merged = dict(defaults)
                if key == "labels" and any(
                    given.get(k) is not None for k in _TARGET_KEYS
                ):  # the pipeline chose how to tell stable from canary
                    for k in _TARGET_KEYS:
                        merged.pop(k, None)
                if key == "errors" and any(k in given for k in ("metric", "status")):
                    merged = {}
                out[key] = {**merged, **given}
        return out

    @model_validator(mode="after")
    def _consistent(self) -> PrometheusMetricsConfig:
        if self.errors.status is not None and self.labels.status is None:
            raise field_error(
                ("labels", "status"), "errors.status needs labels.status (the status label)"
            )
        if self.route_classes and self.labels.route_class is None:
            raise field_error(
                "routeClasses", "routeClasses needs labels.routeClass (the route-class label)"
            )
        if self.delay < 0:
            raise field_error("delay", "must not be negative")
        return self
