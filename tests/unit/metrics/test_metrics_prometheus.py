"""Counter arithmetic of the Prometheus source, its series mappings (the backend's, the
router's, a service's own names) against a fake server that evaluates the queries it sends, and
an unreachable server (the real-server tests are in tests/integration/local and
tests/e2e/local; the SigV4 ones in tests/integration/aws)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from requests.adapters import BaseAdapter

from canaryctl.config.prometheus import PrometheusMetricsConfig
from canaryctl.errors import InvalidInput
from canaryctl.metrics.base import NoData, Target, WindowStats
from canaryctl.metrics.prometheus import PrometheusSource, SeriesMapping, series_increase
from canaryctl.platforms.base import PlatformState, TaskSet, Weights


def test_increase_from_the_baseline():
    assert series_increase(10, [10, 12, 15, 15]) == 5


def test_a_reset_counts_the_new_value_in_full():
    # the router restarted between 15 and 3: 5 before, 3 after
    assert series_increase(10, [12, 15, 3, 4]) == 5 + 4


def test_without_a_baseline_the_first_sample_is_the_baseline():
    assert series_increase(None, [7, 9]) == 2
    assert series_increase(None, []) == 0


def test_unreachable_prometheus_is_nodata_with_the_reason(unused_tcp_port: int):
    versions = {"stable": "v1", "canary": "v2"}
    src = PrometheusSource(f"http://127.0.0.1:{unused_tcp_port}", versions=versions, timeout=1)
    got = src.window(Target.CANARY, 1000.0, 1060.0)
    assert isinstance(got, NoData)
    assert "unreachable" in got.reason and str(unused_tcp_port) in got.reason
    src.close()


class Adapter(BaseAdapter):
    """A requests transport that answers every request with ``handle(request)``, off the
    network (what httpx calls a mock transport)."""

    def __init__(self, handle: Callable[[requests.PreparedRequest], requests.Response]) -> None:
        super().__init__()
        self.handle = handle

    def send(self, request: requests.PreparedRequest, *args: Any, **kw: Any) -> requests.Response:
        response = self.handle(request)
        response.request, response.url = request, str(request.url)
        return response

    def close(self) -> None:
        pass


def _json(status: int, doc: Any) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    response.headers["Content-Type"] = "application/json"
    response._content = json.dumps(doc).encode()
    return response


# --- the series mapping, against a fake server that evaluates the three query shapes --------

MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


def _matches(labels: dict[str, str], selector: str) -> bool:
    for name, op, value in MATCHER.findall(selector):
        got = labels.get(name, "")
        hit = re.fullmatch(value, got) is not None if "~" in op else got == value
        if hit == op.startswith("!"):
            return False
    return True


@dataclass
class FakePrometheus:
    """Series → samples [(t, v)], answering instant selectors, range selectors ``[Ns]`` and
    ``count by (job, instance) (selector)`` as Prometheus does (5-minute lookback)."""

    series: list[tuple[dict[str, str], list[tuple[float, float]]]] = field(default_factory=list)
    queries: list[str] = field(default_factory=list)

    def add(self, samples: list[tuple[float, float]], **labels: str) -> None:
        self.series.append((labels, samples))

    def handle(self, request: requests.PreparedRequest) -> requests.Response:
        params = dict(parse_qsl(urlsplit(str(request.url)).query))
        query, at = params["query"], float(params["time"])
        self.queries.append(query)
        if query.startswith("count by (job, instance) ("):
            groups: dict[tuple[str, str], int] = {}
            for labels, _ in self._instant(query[len("count by (job, instance) (") : -1], at):
                key = (labels.get("job", ""), labels.get("instance", ""))
                groups[key] = groups.get(key, 0) + 1
            result: list[dict[str, Any]] = [
                {"metric": {"job": j, "instance": i}, "value": [at, str(n)]}
                for (j, i), n in groups.items()
            ]
        elif (ranged := re.fullmatch(r"(.*)\[(\d+)s\]", query)) is not None:
            width = float(ranged.group(2))
            result = [
                {"metric": labels, "values": [[t, str(v)] for t, v in got]}
                for labels, samples in self.series
                if _matches(labels, ranged.group(1))
                and (got := [(t, v) for t, v in samples if at - width < t <= at])
            ]
        else:
            result = [
                {"metric": labels, "value": [at, str(v)]} for labels, v in self._instant(query, at)
            ]
        return _json(200, {"status": "success", "data": {"result": result}})

    def _instant(self, selector: str, at: float) -> list[tuple[dict[str, str], float]]:
        out = []
        for labels, samples in self.series:
            last = [v for t, v in samples if at - 300 < t <= at]
            if last and _matches(labels, selector):
                out.append((labels, last[-1]))
        return out

    def source(self, series: SeriesMapping | None = None, **kw: Any) -> PrometheusSource:
        kw.setdefault("versions", {"stable": "v1", "canary": "v2"})
        return PrometheusSource("http://prom", series=series, adapter=Adapter(self.handle), **kw)


T0 = 1_800_000_000.0
INF = float("inf")


def _requests(route: str, status: str, version: str = "v2", **kw: str) -> dict[str, str]:
    labels = {"__name__": "http_requests_total", "route_class": route, "method": "POST"}
    labels |= {"status": status, "version": version, "job": "gb", "instance": "a:1", **kw}
    return labels


def _buckets(prom: FakePrometheus, route: str, le01: list[float], total: list[float]) -> None:
    base = {"__name__": "http_request_duration_seconds_bucket", "route_class": route}
    base |= {"version": "v2", "job": "gb", "instance": "a:1"}
    times = [T0 + 10 * i for i in range(len(total))]
    prom.add(list(zip(times, le01, strict=True)), **base, le="0.1")
    prom.add(list(zip(times, total, strict=True)), **base, le="+Inf")


def test_the_backend_series_errors_are_its_5xx_and_versions_tell_the_targets_apart():
    prom = FakePrometheus()
    times = [T0, T0 + 10, T0 + 20, T0 + 30]
    prom.add(list(zip(times, [100, 120, 150, 160], strict=True)), **_requests("wallet", "200"))
    prom.add(list(zip(times, [10, 10, 11, 12], strict=True)), **_requests("wallet", "404"))
    prom.add(list(zip(times, [1, 3, 6, 9], strict=True)), **_requests("wallet", "503"))
    prom.add(list(zip(times, [5, 50, 60, 70], strict=True)), **_requests("wallet", "500", "v1"))
    _buckets(prom, "wallet", [100, 120, 140, 150], [111, 133, 167, 181])
    src = prom.source()

    got = src.window(Target.CANARY, T0, T0 + 30, "wallet")
    assert isinstance(got, WindowStats), got
    # 60 + 2 + 8 requests, of which the 8 answered 503 are errors (404 is the client's)
    assert (got.requests, got.errors) == (70, 8)
    assert got.buckets == ((0.1, 50), (INF, 70))
    assert 'version="v2"' in prom.queries[0] and 'route_class="wallet"' in prom.queries[0]
    # the stable's errors are its own (v1): 65 of 65
    stable = src.window(Target.STABLE, T0, T0 + 30)
    assert isinstance(stable, WindowStats) and (stable.requests, stable.errors) == (65, 65)


def test_a_series_born_in_the_window_counts_from_zero_on_a_target_scraped_before():
    prom = FakePrometheus()
    prom.add([(T0, 100), (T0 + 10, 130), (T0 + 20, 160)], **_requests("wallet", "200"))
    # the canary's first 500s: the series appears at its first scrape with 4 already counted
    prom.add([(T0 + 10, 4), (T0 + 20, 6)], **_requests("wallet", "500"))
    # a process Prometheus had never scraped before the window: its first sample is a baseline
    prom.add([(T0 + 10, 1000), (T0 + 20, 1010)], **_requests("wallet", "200", instance="b:2"))
    prom.add([(T0 + 10, 300), (T0 + 20, 305)], **_requests("wallet", "500", instance="b:2"))

    got = prom.source().window(Target.CANARY, T0, T0 + 20)
    assert isinstance(got, WindowStats), got
    assert (got.requests, got.errors) == (60 + 6 + 10 + 5, 6 + 5)
    assert prom.queries[-1].startswith("count by (job, instance) (")


def test_route_classes_map_to_label_values_and_latency_in_milliseconds_is_scaled():
    prom = FakePrometheus()
    for route in ("store", "inventory", "wallet"):
        labels = {"__name__": "reqs", "svc_version": "v2", "path_group": route}
        prom.add([(T0, 0), (T0 + 10, 10)], **labels)
        for le, n in (("100", 4), ("+Inf", 10)):
            prom.add([(T0, 0), (T0 + 10, n)], **{**labels, "__name__": "lat_ms_bucket", "le": le})
    series = SeriesMapping.preset(
        "gamebackend",
        requests={"metric": "reqs"},
        errors={"metric": "errs"},
        latency={"metric": "lat_ms", "unit": "milliseconds"},
        labels={"version": "svc_version", "routeClass": "path_group"},
        routeClasses={"inventory": "inventory|store"},
        selector='{svc_version!="v0"}',
    )
    got = prom.source(series).window(Target.CANARY, T0, T0 + 10, "inventory")
    assert isinstance(got, WindowStats), got
    assert (got.requests, got.errors, got.buckets) == (20, 0, ((0.1, 8), (INF, 20)))
    assert 'path_group=~"inventory|store"' in prom.queries[0]
    assert 'svc_version!="v0"' in prom.queries[0]


def test_the_router_preset_reads_its_error_counter_and_target_group_label():
    prom = FakePrometheus()
    base = {"target_group": "canary", "route_class": "wallet"}
    prom.add([(T0, 0), (T0 + 5, 40)], __name__="canaryctl_router_requests_total", **base)
    prom.add([(T0, 0), (T0 + 5, 3)], __name__="canaryctl_router_errors_total", **base)
    name = "canaryctl_router_request_duration_seconds_bucket"
    prom.add([(T0, 0), (T0 + 5, 40)], __name__=name, le="+Inf", **base)
    got = prom.source(SeriesMapping.preset("router"), versions=None).window(
        Target.CANARY, T0, T0 + 5
    )
    assert isinstance(got, WindowStats) and (got.requests, got.errors) == (40, 3), got
    assert 'target_group="canary"' in prom.queries[0] and "version" not in prom.queries[0]


class Platform:
    def __init__(self) -> None:
        self.canary: str | None = None
        self.calls = 0

    def describe(self) -> PlatformState:
        self.calls += 1
        canary = TaskSet("ts-2", self.canary, "canary", True, 1, 1) if self.canary else None
        return PlatformState(TaskSet("ts-1", "v1", "stable", True, 1, 1), canary, Weights(100, 0))


def test_the_platform_is_asked_for_the_versions_until_the_canary_is_known():
    prom = FakePrometheus()
    prom.add([(T0, 0), (T0 + 10, 10)], **_requests("wallet", "200", "v7"))
    platform = Platform()
    config = PrometheusMetricsConfig(url="http://prom")  # type: ignore[call-arg]
    src = PrometheusSource.from_config(config, service="gb", base_dir=Path("."), platform=platform)
    src._adapter = Adapter(prom.handle)

    early = src.window(Target.CANARY, T0, T0 + 10)
    assert isinstance(early, NoData) and early.reason == "no canary version known to the platform"
    platform.canary = "v7"
    assert isinstance(src.window(Target.CANARY, T0, T0 + 10), WindowStats)
    assert isinstance(src.window(Target.STABLE, T0, T0 + 10), NoData)  # v1 has no series
    assert isinstance(src.window(Target.CANARY, T0, T0 + 10), WindowStats)
    assert platform.calls == 2  # both known from then on: not asked again


def test_without_a_platform_a_version_mapping_is_refused():
    config = PrometheusMetricsConfig(url="http://prom")  # type: ignore[call-arg]
    with pytest.raises(InvalidInput, match="needs a platform"):
        PrometheusSource.from_config(config, service="gb", base_dir=Path("."))


def test_a_query_error_is_nodata_with_the_servers_message():
    def refuse(request: requests.PreparedRequest) -> requests.Response:
        body = {"status": "error", "errorType": "bad_data", "error": "parse error at char 3"}
        return _json(400, body)

    src = PrometheusSource("http://prom", versions={"canary": "v2"}, adapter=Adapter(refuse))
    got = src.window(Target.CANARY, T0, T0 + 10)
    assert isinstance(got, NoData)
    assert (
        got.reason == "prometheus http://prom refused the query (HTTP 400): parse error at char 3"
    )
