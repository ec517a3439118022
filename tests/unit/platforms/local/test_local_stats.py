"""The router's counters: per-second windows and the Prometheus exposition."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
from prometheus_client.parser import text_string_to_metric_families

from canaryctl.metrics.routes import LATENCY_BUCKETS, route_class
from canaryctl.platforms.local.proxy import fast_route_class
from canaryctl.platforms.local.stats import RouterStats


class Clock:
    def __init__(self, t: float = 1_000_000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def test_window_counts_whole_seconds_without_double_counting():
    clock = Clock()
    stats = RouterStats(clock=clock)
    for i in range(10):  # one request per second, t = 1_000_000 .. 1_000_009
        clock.t = 1_000_000 + i + 0.5
        stats.record("canary", "wallet", 0.02 * (i + 1), error=i % 5 == 0)
    clock.t += 5
    first = stats.window("canary", 1_000_000.3, 1_000_004.7)
    second = stats.window("canary", 1_000_004.7, 1_000_010)
    assert (first.requests, second.requests) == (4, 6)
    assert (first.errors, second.errors) == (1, 1)
    assert stats.window("stable", 0, 2e6).requests == 0
    assert stats.window("canary", 0, 2e6, "players").requests == 0


def test_window_buckets_are_cumulative_and_end_in_inf():
    clock = Clock()
    stats = RouterStats(clock=clock)
    for latency in (0.001, 0.005, 0.006, 0.3, 12.0):
        stats.record("stable", "ops", latency, error=False)
    clock.t += 1
    w = stats.window("stable", clock.t - 1, clock.t)
    counts = dict(w.buckets)
    assert counts[0.005] == 2  # bounds are inclusive ("le")
    assert counts[0.01] == 3
    assert counts[0.3] == 4
    assert counts[10.0] == 4
    assert counts[math.inf] == 5
    assert [b for b, _ in w.buckets] == [*LATENCY_BUCKETS, math.inf]


def test_history_older_than_retention_is_dropped():
    clock = Clock()
    stats = RouterStats(retention_s=60, clock=clock)
    stats.record("stable", "ops", 0.01, error=False)
    clock.t += 61
    stats.record("stable", "ops", 0.01, error=False)
    clock.t += 1
    stats.record("stable", "ops", 0.01, error=False)
    assert stats.window("stable", 0, 2e6).requests == 2
    assert stats.retained_since() == int(clock.t) - 60


def test_prometheus_text_parses_and_matches_counts():
    clock = Clock()
    stats = RouterStats(clock=clock)
    for i in range(7):
        stats.record("canary", "leaderboard", 0.02, error=i < 2)
    families = {f.name: f for f in text_string_to_metric_families(stats.prometheus_text())}
    samples = {
        (
            s.name,
            s.labels.get("target_group"),
            s.labels.get("route_class"),
            s.labels.get("le"),
        ): s.value
        for f in families.values()
        for s in f.samples
    }
    assert samples[("canaryctl_router_requests_total", "canary", "leaderboard", None)] == 7
    assert samples[("canaryctl_router_errors_total", "canary", "leaderboard", None)] == 2
    key = ("canaryctl_router_request_duration_seconds_bucket", "canary", "leaderboard", "0.025")
    assert samples[key] == 7
    assert samples[(key[0], "canary", "leaderboard", "0.01")] == 0
    # every series exists from the start, at zero, so Prometheus sees the first increment
    assert samples[("canaryctl_router_requests_total", "stable", "wallet", None)] == 0


_paths = st.one_of(
    st.text(alphabet="/abcdefgv1?=&wsltorepdyinkhmc", max_size=30),
    st.sampled_from(
        ["/v1/wallet", "/v1/ws", "/v1/store/purchase", "/v1/leaderboards/g/records"]
    ).flatmap(lambda p: st.sampled_from([p, p + "/", p + "?a=1", p + "x", p + "/x?y"])),
)


@given(_paths)
def test_router_classifies_like_the_shared_route_class(path: str):
    target = path if path.startswith("/") else "/" + path
    assert fast_route_class(target.encode()) == route_class(target.split("?", 1)[0])
