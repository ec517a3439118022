"""Window statistics per ALB target group from CloudWatch (namespace ``AWS/ApplicationELB``).

One ``GetMetricData`` call per window, with every query in it, each over the whole window as
one period (so CloudWatch computes the percentiles over the window, not per minute):

    requests      RequestCount                 Sum           LoadBalancer + TargetGroup
    target_5xx    HTTPCode_Target_5XX_Count    Sum           LoadBalancer + TargetGroup
    conn_errors   TargetConnectionErrorCount   Sum           LoadBalancer + TargetGroup
    latency_n     TargetResponseTime           SampleCount   LoadBalancer + TargetGroup
    p50/p95/p99   TargetResponseTime           p50/p95/p99   LoadBalancer + TargetGroup
    le_<bound>    TargetResponseTime           PR(:<bound>)  LoadBalancer + TargetGroup
    elb_5xx       HTTPCode_ELB_5XX_Count       Sum           LoadBalancer only

Errors are the target's 5xx plus failed connections to its targets (which the ALB answers
502). ``HTTPCode_ELB_5XX_Count`` is published per load balancer only — it has no TargetGroup
dimension — so it cannot be split between stable and canary; it is returned as context.

The histogram is rebuilt from percentile ranks: ``PR(:b)`` is the percentage of responses with
latency ≤ b (CloudWatch's lower bound is exclusive, so ``PR(:b)`` rather than ``PR(0:b)``
keeps a 0 s response), times the number of responses, at each ``LATENCY_BUCKETS`` bound. The
``+Inf`` bucket is RequestCount, so requests with no target response (ELB-generated errors)
land above every finite bound.

Missing data: no RequestCount data point means no traffic seen, or not published yet (ALB
metrics arrive about a minute late) — ``NoData``, never zeros. The 5xx and connection-error
metrics are published only when non-zero, so their absence next to a RequestCount is 0.

Windows are aligned to whole minutes (``[floor(start), floor(end))``). ALB metrics have
60-second resolution only; there are no 10-second high-resolution ALB metrics to ask for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from canaryctl import aws
from canaryctl.errors import CanaryError, InvalidInput, MetricsError
from canaryctl.metrics.base import NoData, SourceCapabilities, Target, WindowStats
from canaryctl.metrics.routes import LATENCY_BUCKETS

__all__ = ["CloudWatchSource", "CloudWatchWindowStats"]

NAMESPACE = "AWS/ApplicationELB"
_PERCENTILES = ("p50", "p95", "p99")


@dataclass(frozen=True)
class CloudWatchWindowStats(WindowStats):
    """A window plus what CloudWatch measured directly: its own percentiles of the window
    (seconds) and the load balancer's ELB-generated 5xx (not attributable to a group)."""

    cloudwatch: dict[str, float] = field(default_factory=dict)


def _metrics_error(message: str, code: str | None) -> CanaryError:
    return MetricsError(f"{message} ({code})" if code else message)


def _dimension(arn_or_dimension: str, marker: str) -> str:
    """``targetgroup/name/id`` or ``app/name/id`` from an ARN (or the dimension itself)."""
    if arn_or_dimension.startswith("arn:"):
        resource = arn_or_dimension.split(":", 5)[-1]
        if marker == "loadbalancer/":
            resource = resource.split(marker, 1)[-1]
        return resource
    return arn_or_dimension


def _query_id(bound: float) -> str:
    return "le_" + f"{bound:g}".replace(".", "_")


class CloudWatchSource:
    """The ``cloudwatch`` metric source. ``target_groups`` maps ``stable``/``canary`` to target
    group ARNs (or is a callable returning that map, asked once: the ECS platform's)."""

    name = "cloudwatch"

    def __init__(
        self,
        *,
        load_balancer: str,
        target_groups: Mapping[str, str] | Callable[[], Mapping[str, str]],
        region: str | None = None,
        period: int = 60,
        namespace: str = NAMESPACE,
        bounds: tuple[float, ...] = LATENCY_BUCKETS,
        client: Any = None,
        retry: aws.RetryPolicy | None = None,
    ) -> None:
        if period < 60 or period % 60:
            raise InvalidInput(f"metrics.period: a multiple of 60 seconds, got {period}")
        self.load_balancer = _dimension(load_balancer, "loadbalancer/")
        self._target_groups = target_groups
        self._resolved: dict[str, str] | None = None
        self.period = period
        self.namespace = namespace
        self.bounds = bounds
        self._cw = client if client is not None else aws.client("cloudwatch", region=region)
        self._retry = retry or aws.RetryPolicy()

    @classmethod
    def capabilities(cls, config: Any) -> SourceCapabilities:
        # ALB metrics have LoadBalancer and TargetGroup dimensions, no path: no route classes.
        return SourceCapabilities(route_classes=False)

    @classmethod
    def from_config(
        cls, config: Any, *, service: str, base_dir: Path, platform: Any = None
    ) -> CloudWatchSource:
        """Config: ``region``, ``period`` (60 s), ``namespace`` (AWS/ApplicationELB), and —
        unless the platform is ``ecs``, which knows them — ``load_balancer`` (ARN or
        ``app/name/id``) and ``target_groups`` (``{stable: ARN, canary: ARN}``)."""
        load_balancer = getattr(config, "load_balancer", None)
        groups = getattr(config, "target_groups", None)
        region = getattr(config, "region", None)
        if platform is not None and hasattr(platform, "target_groups"):
            load_balancer = load_balancer or platform.load_balancer_dimension
            groups = groups or platform.target_groups
            region = region or getattr(getattr(platform, "settings", None), "region", None)
        if not load_balancer or not groups:
            raise InvalidInput(
                "metrics: the cloudwatch source needs the ecs platform, or loadBalancer and "
                "targetGroups {stable, canary}"
            )
        return cls(
            load_balancer=load_balancer,
            target_groups=groups,
            region=region,
            period=int(getattr(config, "period", None) or 60),
            namespace=str(getattr(config, "namespace", None) or NAMESPACE),
        )

    def close(self) -> None:
        close = getattr(self._cw, "close", None)
        if callable(close):
            close()

    def target_group(self, target: Target) -> str:
        if self._resolved is None:
            groups = self._target_groups
            self._resolved = dict(groups() if callable(groups) else groups)
        try:
            return _dimension(self._resolved[str(target)], "targetgroup/")
        except KeyError:
            raise MetricsError(f"no target group for {target}") from None

    def aligned(self, start: float, end: float) -> tuple[int, int]:
        step = self.period
        return int(math.floor(start / step) * step), int(math.floor(end / step) * step)

    def queries(self, target: Target, length: int) -> list[dict[str, Any]]:
        """The ``MetricDataQueries`` of one window of ``length`` seconds."""
        tg = [
            {"Name": "LoadBalancer", "Value": self.load_balancer},
            {"Name": "TargetGroup", "Value": self.target_group(target)},
        ]
        lb = [{"Name": "LoadBalancer", "Value": self.load_balancer}]

        def query(qid: str, metric: str, stat: str, dims: list[dict[str, str]]) -> dict[str, Any]:
            return {
                "Id": qid,
                "MetricStat": {
                    "Metric": {
                        "Namespace": self.namespace,
                        "MetricName": metric,
                        "Dimensions": dims,
                    },
                    "Period": length,
                    "Stat": stat,
                },
                "ReturnData": True,
            }

        latency = "TargetResponseTime"
        found = [
            query("requests", "RequestCount", "Sum", tg),
            query("target_5xx", "HTTPCode_Target_5XX_Count", "Sum", tg),
            query("conn_errors", "TargetConnectionErrorCount", "Sum", tg),
            query("latency_n", latency, "SampleCount", tg),
            *(query(p, latency, p, tg) for p in _PERCENTILES),
            *(query(_query_id(b), latency, f"PR(:{b:g})", tg) for b in self.bounds),
            query("elb_5xx", "HTTPCode_ELB_5XX_Count", "Sum", lb),
        ]
        return found

    def window(
        self, target: Target, start: float, end: float, route_class: str | None = None
    ) -> WindowStats | NoData:
        if route_class is not None:
            return NoData(
                "CloudWatch's ALB metrics are per target group, not per route class",
                target=target,
                route_class=route_class,
            )
        first, last = self.aligned(start, end)
        if last - first < self.period:
            return NoData(
                f"window shorter than one CloudWatch period ({self.period} s) once aligned",
                target=target,
            )
        answer = aws.call(
            self._cw.get_metric_data,
            what=f"get CloudWatch metrics of the {target} target group",
            policy=self._retry,
            error=_metrics_error,
            MetricDataQueries=self.queries(target, last - first),
            StartTime=datetime.fromtimestamp(first, UTC),
            EndTime=datetime.fromtimestamp(last, UTC),
        )
        values = {r["Id"]: list(r.get("Values", [])) for r in answer.get("MetricDataResults", [])}
        return self._stats(target, values, float(first), float(last))

    def _stats(
        self, target: Target, values: dict[str, list[float]], start: float, end: float
    ) -> WindowStats | NoData:
        def total(qid: str) -> float | None:
            found = values.get(qid) or []
            if len(found) > 1:  # one period spans the window: one point, or none
                raise MetricsError(f"CloudWatch returned {len(found)} points for {qid}")
            return float(found[0]) if found else None

        requests = total("requests")
        group = self.target_group(target)
        if requests is None:
            return NoData(
                f"no RequestCount for {group} in this window (no traffic, or not published yet)",
                target=target,
                details={"target_group": group},
            )
        n_requests = round(requests)
        samples = min(round(total("latency_n") or 0.0), n_requests)
        counts: list[tuple[float, int]] = []
        previous = 0
        for bound in self.bounds:
            rank = total(_query_id(bound))
            if rank is None and samples > 0:
                return NoData(
                    f"no percentile-rank data (PR(:{bound:g})) for {group}", target=target
                )
            cumulative = round((rank or 0.0) / 100.0 * samples)
            previous = max(previous, min(cumulative, samples))  # keep the histogram monotone
            counts.append((bound, previous))
        counts.append((math.inf, n_requests))
        errors = round((total("target_5xx") or 0.0) + (total("conn_errors") or 0.0))
        native = {p: v for p in _PERCENTILES if (v := total(p)) is not None}
        native["elb_5xx_whole_load_balancer"] = total("elb_5xx") or 0.0
        return CloudWatchWindowStats(
            requests=n_requests,
            errors=min(errors, n_requests),
            buckets=tuple(counts),
            start=start,
            end=end,
            cloudwatch=native,
        )
