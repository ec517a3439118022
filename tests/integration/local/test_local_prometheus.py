"""Both metric sources against the same traffic: the router's own ring and a real Prometheus
server scraping the router every second must give the same window statistics."""

from __future__ import annotations

import time

import httpx
import pytest

from canaryctl.metrics.base import NoData, Target, WindowStats
from canaryctl.metrics.embedded import EmbeddedSource
from canaryctl.metrics.prometheus import PrometheusSource, SeriesMapping

pytestmark = pytest.mark.integration


def _wait_scraped(prom_url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        data = httpx.get(f"{prom_url}/api/v1/query", params={"query": 'up{job="router"}'}).json()
        if any(r["value"][1] == "1" for r in data["data"]["result"]):
            return
        time.sleep(0.2)
    raise AssertionError("Prometheus did not scrape the router")


def test_embedded_and_prometheus_agree_on_the_same_traffic(
    stub_backend, router_process, prometheus
):
    router = router_process([stub_backend("v1")], [stub_backend("v2")], "80/20")
    prom = prometheus(f"127.0.0.1:{router.admin_port}")
    _wait_scraped(prom.url)
    time.sleep(1.5)  # at least one scrape of the still-empty counters before the window
    start = time.time()
    time.sleep(2.0)
    plan = [("/v1/wallet", {"status": 500})] * 10 + [("/v1/wallet", {"delay": 0.03})] * 60
    plan += [("/v1/leaderboards/g/records", {"delay": 0.12})] * 20 + [("/healthz", {})] * 60
    with httpx.Client(base_url=router.url) as client:
        for path, params in plan:
            client.get(path, params=params)
    time.sleep(2.5)  # the scrape after the last request lands inside the window
    end = time.time()
    time.sleep(0.5)
    embedded, prom_src = (
        EmbeddedSource(router.admin),
        PrometheusSource(prom.url, series=SeriesMapping.preset("router"), timeout=5),
    )
    try:
        for target in (Target.STABLE, Target.CANARY):
            for rc in (None, "wallet", "leaderboard"):
                a = embedded.window(target, start, end, rc)
                b = prom_src.window(target, start, end, rc)
                assert isinstance(a, WindowStats) and isinstance(b, WindowStats), (a, b)
                assert (a.requests, a.errors, a.buckets) == (b.requests, b.errors, b.buckets)
        total = sum(
            w.requests
            for t in (Target.STABLE, Target.CANARY)
            if isinstance(w := prom_src.window(t, start, end), WindowStats)
        )
        assert total == len(plan)
        wallet = embedded.window(Target.CANARY, start, end, "wallet")
        assert isinstance(wallet, WindowStats) and wallet.quantile(0.5) is not None
        assert 0.025 <= wallet.quantile(0.5) <= 0.075  # type: ignore[operator]
        # No traffic at all for this class: both say so, neither answers zeros.
        assert isinstance(embedded.window(Target.CANARY, start, end, "pools"), NoData)
        assert isinstance(prom_src.window(Target.CANARY, start, end, "pools"), NoData)
        prom.stop()
        gone = prom_src.window(Target.CANARY, start, end)
        assert isinstance(gone, NoData) and "unreachable" in gone.reason
    finally:
        embedded.close()
        prom_src.close()
