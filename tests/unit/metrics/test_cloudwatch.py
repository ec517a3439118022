"""The CloudWatch source against botocore's Stubber (moto has no percentile statistics): the
exact GetMetricData request, and the window statistics computed from CloudWatch-shaped answers
(values as CloudWatch returns them for an ALB target group; no AWS account to record from)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

from canaryctl.aws import RetryPolicy
from canaryctl.errors import InvalidInput, MetricsError
from canaryctl.metrics.base import NoData, Target, WindowStats
from canaryctl.metrics.cloudwatch import CloudWatchSource, CloudWatchWindowStats

ELB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012"
LB_ARN = f"{ELB}:loadbalancer/app/gamebackend/50dc6c495c0c9188"
BLUE = f"{ELB}:targetgroup/gamebackend-blue/73e2d6bc24d8a067"
GREEN = f"{ELB}:targetgroup/gamebackend-green/2453ed029918f21f"
T0 = 1_790_000_040  # 2026-09-21 14:14:00 UTC, a whole minute

# (query id, statistic) of the latency histogram, one per LATENCY_BUCKETS bound.
RANKS = [
    ("le_0_005", "PR(:0.005)"),
    ("le_0_01", "PR(:0.01)"),
    ("le_0_025", "PR(:0.025)"),
    ("le_0_05", "PR(:0.05)"),
    ("le_0_075", "PR(:0.075)"),
    ("le_0_1", "PR(:0.1)"),
    ("le_0_15", "PR(:0.15)"),
    ("le_0_2", "PR(:0.2)"),
    ("le_0_25", "PR(:0.25)"),
    ("le_0_3", "PR(:0.3)"),
    ("le_0_4", "PR(:0.4)"),
    ("le_0_5", "PR(:0.5)"),
    ("le_0_75", "PR(:0.75)"),
    ("le_1", "PR(:1)"),
    ("le_1_5", "PR(:1.5)"),
    ("le_2_5", "PR(:2.5)"),
    ("le_5", "PR(:5)"),
    ("le_10", "PR(:10)"),
]
# A canary answering 1,200 requests, 1,190 of them with a target response; percentile ranks
# of TargetResponseTime as CloudWatch reports them (percent, ≤ bound).
RANK_VALUES = [0.0, 2.5, 20.0, 50.0, 70.0, 80.0, 88.0, 92.0, 95.0, 96.5, 98.0, 99.0]
RANK_VALUES += [99.5, 99.8, 99.9, 100.0, 100.0, 100.0]


def _query(qid: str, metric: str, stat: str, tg: str | None, period: int) -> dict[str, Any]:
    dims = [{"Name": "LoadBalancer", "Value": "app/gamebackend/50dc6c495c0c9188"}]
    if tg:
        dims.append({"Name": "TargetGroup", "Value": tg})
    return {
        "Id": qid,
        "MetricStat": {
            "Metric": {"Namespace": "AWS/ApplicationELB", "MetricName": metric, "Dimensions": dims},
            "Period": period,
            "Stat": stat,
        },
        "ReturnData": True,
    }


def expected_request(tg: str, start: int, end: int) -> dict[str, Any]:
    period = end - start
    latency = "TargetResponseTime"
    return {
        "MetricDataQueries": [
            _query("requests", "RequestCount", "Sum", tg, period),
            _query("target_5xx", "HTTPCode_Target_5XX_Count", "Sum", tg, period),
            _query("conn_errors", "TargetConnectionErrorCount", "Sum", tg, period),
            _query("latency_n", latency, "SampleCount", tg, period),
            _query("p50", latency, "p50", tg, period),
            _query("p95", latency, "p95", tg, period),
            _query("p99", latency, "p99", tg, period),
            *(_query(qid, latency, stat, tg, period) for qid, stat in RANKS),
            _query("elb_5xx", "HTTPCode_ELB_5XX_Count", "Sum", None, period),
        ],
        "StartTime": datetime.fromtimestamp(start, UTC),
        "EndTime": datetime.fromtimestamp(end, UTC),
    }


def answer(start: int, values: dict[str, float]) -> dict[str, Any]:
    """A GetMetricData answer: one point per query that has data, none for the others."""
    stamp = datetime.fromtimestamp(start, UTC)
    ids = ["requests", "target_5xx", "conn_errors", "latency_n", "p50", "p95", "p99"]
    ids += [qid for qid, _ in RANKS] + ["elb_5xx"]
    return {
        "MetricDataResults": [
            {
                "Id": qid,
                "Label": qid,
                "Timestamps": [stamp] if qid in values else [],
                "Values": [values[qid]] if qid in values else [],
                "StatusCode": "Complete",
            }
            for qid in ids
        ],
        "Messages": [],
    }


def canary_values() -> dict[str, float]:
    values = {
        "requests": 1200.0,
        "target_5xx": 6.0,
        "conn_errors": 2.0,
        "latency_n": 1190.0,
        "p50": 0.05,
        "p95": 0.25,
        "p99": 0.5,
        "elb_5xx": 3.0,
    }
    values.update({qid: v for (qid, _), v in zip(RANKS, RANK_VALUES, strict=True)})
    return values


@pytest.fixture
def stubbed() -> Iterator[tuple[CloudWatchSource, Stubber]]:
    client = boto3.client(
        "cloudwatch",
        region_name="eu-west-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    source = CloudWatchSource(
        load_balancer=LB_ARN,
        target_groups={"stable": BLUE, "canary": GREEN},
        client=client,
        retry=RetryPolicy(attempts=3, base_s=0.0, cap_s=0.0),
    )
    with Stubber(client) as stubber:
        yield source, stubber
        stubber.assert_no_pending_responses()


def test_one_call_with_every_query_aligned_to_whole_minutes(
    stubbed: tuple[CloudWatchSource, Stubber],
) -> None:
    source, stub = stubbed
    stub.add_response(
        "get_metric_data",
        answer(T0, canary_values()),
        expected_request("targetgroup/gamebackend-green/2453ed029918f21f", T0, T0 + 300),
    )
    # 14:14:17 → 14:19:17 is read as the five whole minutes 14:14:00 → 14:19:00
    stats = source.window(Target.CANARY, T0 + 17.0, T0 + 317.0)
    assert isinstance(stats, WindowStats)
    assert (stats.start, stats.end) == (T0, T0 + 300)


def test_statistics_from_the_answer(stubbed: tuple[CloudWatchSource, Stubber]) -> None:
    source, stub = stubbed
    stub.add_response("get_metric_data", answer(T0, canary_values()))
    stats = source.window(Target.CANARY, T0, T0 + 300)

    assert isinstance(stats, CloudWatchWindowStats)
    assert stats.requests == 1200
    assert stats.errors == 8  # 6 target 5xx + 2 failed connections; ELB's 3 are not the TG's
    buckets = dict(stats.buckets)
    assert buckets[0.005] == 0
    assert buckets[0.05] == 595  # 50% of the 1,190 responses
    assert buckets[0.25] == 1130  # round(95% × 1,190)
    assert buckets[2.5] == buckets[10.0] == 1190
    assert buckets[math.inf] == 1200  # 10 requests had no target response
    assert [c for _, c in stats.buckets] == sorted(c for _, c in stats.buckets)
    assert stats.quantile(0.5) == pytest.approx(0.05, abs=0.001)
    assert stats.slower_than(0.25) == 70
    assert stats.cloudwatch == {
        "p50": 0.05,
        "p95": 0.25,
        "p99": 0.5,
        "elb_5xx_whole_load_balancer": 3.0,
    }


def test_no_request_count_is_no_data_not_zero(stubbed: tuple[CloudWatchSource, Stubber]) -> None:
    source, stub = stubbed
    stub.add_response("get_metric_data", answer(T0, {}))
    result = source.window(Target.STABLE, T0, T0 + 120)
    assert isinstance(result, NoData)
    assert result.target is Target.STABLE
    assert "no RequestCount for targetgroup/gamebackend-blue/" in result.reason


def test_error_metrics_absent_next_to_requests_mean_zero_errors(
    stubbed: tuple[CloudWatchSource, Stubber],
) -> None:
    source, stub = stubbed
    values = {k: v for k, v in canary_values().items() if k not in ("target_5xx", "conn_errors")}
    stub.add_response("get_metric_data", answer(T0, values))
    stats = source.window(Target.CANARY, T0, T0 + 300)
    assert isinstance(stats, WindowStats)
    assert (stats.requests, stats.errors) == (1200, 0)


def test_missing_percentile_ranks_with_responses_is_no_data(
    stubbed: tuple[CloudWatchSource, Stubber],
) -> None:
    source, stub = stubbed
    values = {k: v for k, v in canary_values().items() if k != "le_0_25"}
    stub.add_response("get_metric_data", answer(T0, values))
    result = source.window(Target.CANARY, T0, T0 + 300)
    assert isinstance(result, NoData)
    assert "PR(:0.25)" in result.reason


def test_requests_with_no_target_response_count_as_slow(
    stubbed: tuple[CloudWatchSource, Stubber],
) -> None:
    source, stub = stubbed
    stub.add_response("get_metric_data", answer(T0, {"requests": 40.0, "elb_5xx": 40.0}))
    stats = source.window(Target.CANARY, T0, T0 + 60)
    assert isinstance(stats, WindowStats)
    assert stats.requests == 40
    assert [c for _, c in stats.buckets[:-1]] == [0] * 18
    assert stats.buckets[-1] == (math.inf, 40)


def test_route_classes_and_short_windows_are_no_data_without_a_call(
    stubbed: tuple[CloudWatchSource, Stubber],
) -> None:
    source, _ = stubbed  # no response queued: any call would fail the test
    by_route = source.window(Target.CANARY, T0, T0 + 300, route_class="wallet")
    assert isinstance(by_route, NoData) and "not per route class" in by_route.reason
    short = source.window(Target.CANARY, T0 + 10, T0 + 59)
    assert isinstance(short, NoData) and "shorter than one CloudWatch period" in short.reason


def test_throttling_is_retried_and_other_errors_keep_their_code(
    stubbed: tuple[CloudWatchSource, Stubber],
) -> None:
    source, stub = stubbed
    stub.add_client_error("get_metric_data", "Throttling", "Rate exceeded", 400)
    stub.add_response("get_metric_data", answer(T0, canary_values()))
    assert isinstance(source.window(Target.CANARY, T0, T0 + 300), WindowStats)

    stub.add_client_error("get_metric_data", "AccessDenied", "not authorized", 403)
    with pytest.raises(MetricsError, match=r"canary target group: not authorized \(AccessDenied\)"):
        source.window(Target.CANARY, T0, T0 + 300)


def test_target_groups_come_from_the_ecs_platform(tmp_path: Path) -> None:
    asked: list[str] = []

    def groups() -> dict[str, str]:
        asked.append("target_groups")
        return {"stable": GREEN, "canary": BLUE}  # after a promotion, green is stable

    platform = SimpleNamespace(
        target_groups=groups,
        load_balancer_dimension="app/gamebackend/50dc6c495c0c9188",
        settings=SimpleNamespace(region="eu-west-1"),
    )
    config = SimpleNamespace(type="cloudwatch", region=None, period=60.0, namespace=None)
    source = CloudWatchSource.from_config(
        config, service="gamebackend", base_dir=tmp_path, platform=platform
    )
    assert source.load_balancer == "app/gamebackend/50dc6c495c0c9188"
    assert source.target_group(Target.STABLE) == "targetgroup/gamebackend-green/2453ed029918f21f"
    assert source.target_group(Target.CANARY) == "targetgroup/gamebackend-blue/73e2d6bc24d8a067"
    assert asked == ["target_groups"]  # asked once per source

    with pytest.raises(InvalidInput, match="needs the ecs platform"):
        CloudWatchSource.from_config(config, service="gamebackend", base_dir=tmp_path)
