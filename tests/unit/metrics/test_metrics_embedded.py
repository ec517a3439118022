"""The embedded source reads the router's per-second ring over its admin API."""

from __future__ import annotations

import asyncio
import math
import threading
from collections.abc import Iterator

import pytest

from canaryctl.metrics.base import NoData, Target, WindowStats
from canaryctl.metrics.embedded import EmbeddedSource
from canaryctl.metrics.routes import LATENCY_BUCKETS
from canaryctl.platforms.local.admin import add_router_routes
from canaryctl.platforms.local.httpserver import AdminServer
from canaryctl.platforms.local.router import Router
from canaryctl.platforms.local.stats import RouterStats

T0 = 1_800_000_000.0


class Clock:
    t = T0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def admin() -> Iterator[tuple[str, RouterStats, Clock]]:
    """A router admin API on its own thread (the source under test is synchronous)."""
    clock = Clock()
    stats = RouterStats(clock=clock)
    loop = asyncio.new_event_loop()
    server = AdminServer()
    add_router_routes(server, Router(stats))
    port = loop.run_until_complete(server.start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", stats, clock
    asyncio.run_coroutine_threadsafe(server.close(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


def test_window_matches_what_was_recorded(admin):
    url, stats, clock = admin
    latencies = [0.004, 0.02, 0.02, 0.2, 0.6, 3.0]
    for i, lat in enumerate(latencies):
        clock.t = T0 + i
        stats.record("canary", "wallet", lat, error=i == 3)
    stats.record("canary", "players", 0.01, error=False)
    stats.record("stable", "wallet", 0.01, error=True)
    clock.t = T0 + 10
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
    clock.t = T0 + 5
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
