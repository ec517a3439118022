"""The embedded source reads the router's per-second ring over its admin API."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from canaryctl.metrics.base import NoData, Target, WindowStats
from canaryctl.metrics.embedded import EmbeddedSource
from canaryctl.metrics.routes import LATENCY_BUCKETS

T0 = 1_800_000_000.0


@pytest.fixture
def admin(router_admin_at: Callable[[float], Any]) -> Any:
    """A router admin API on its own thread (the source under test is synchronous)."""
    return router_admin_at(T0)


def test_window_matches_what_was_recorded(admin):
    url, stats, clock = admin
    latencies = [0.004, 0.02, 0.02, 0.2, 0.6, 3.0]
    for i, lat in enumerate(latencies):
        clock.now = T0 + i
        stats.record("canary", "wallet", lat, error=i == 3)
    stats.record("canary", "players", 0.01, error=False)
    stats.record("stable", "wallet", 0.01, error=True)
    clock.now = T0 + 10
    src = EmbeddedSource(url)
    got = src.window(Target.CANARY, T0, T0 + 10, "wallet")
    expected = WindowStats.from_latencies(latencies, 1, LATENCY_BUCKETS, start=T0, end=T0 + 10)
    assert got == expected
    everything = src.window(Target.CANARY, T0, T0 + 10)
    assert isinstance(everything, WindowStats) and everything.requests == 7
    assert everything.buckets[-1] == (math.inf, 7)
    src.close()


def test_no_requests_is_nodata_not_zero(admin):
    url, stats, clock = admin
    stats.record("stable", "wallet", 0.01, error=False)
    clock.now = T0 + 5
    got = EmbeddedSource(url).window(Target.CANARY, T0, T0 + 5)
    assert isinstance(got, NoData) and "no requests recorded for canary" in got.reason


def test_unreachable_router_is_nodata(unused_tcp_port: int):
    got = EmbeddedSource(f"http://127.0.0.1:{unused_tcp_port}", timeout=1).window(
        Target.CANARY, T0, T0 + 5
    )
    assert isinstance(got, NoData) and "unreachable" in got.reason


def test_no_sandbox_is_nodata(tmp_path):
    got = EmbeddedSource(sandbox_dir=tmp_path).window(Target.STABLE, T0, T0 + 5)
    assert isinstance(got, NoData) and f"no sandbox running in {tmp_path}" in got.reason
