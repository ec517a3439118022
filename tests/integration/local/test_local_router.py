"""The router as a process of its own, in front of real backend processes."""

from __future__ import annotations

import asyncio
import time
from collections import Counter

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families

from canaryctl.load.http import HttpClient

pytestmark = pytest.mark.integration


async def _get_versions(url: str, n: int, concurrency: int, path: str = "/v1/x") -> Counter[str]:
    seen: Counter[str] = Counter()
    client = HttpClient(url, max_connections=concurrency)
    sem = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with sem:
            resp = await client.request("GET", path)
            seen[resp.headers.get("x-version", str(resp.status))] += 1

    try:
        await asyncio.gather(*(one() for _ in range(n)))
    finally:
        await client.aclose()
    return seen


async def test_weights_split_traffic_between_target_groups(stub_backend, router_process):
    stable = [stub_backend("v1"), stub_backend("v1")]
    canary = [stub_backend("v2")]
    router = router_process(stable, canary, "90/10")
    seen = await _get_versions(router.url, 1000, concurrency=8)
    # Smooth weighted round-robin: exact shares, whatever the client concurrency.
    assert seen == {"v1": 900, "v2": 100}
    router.set_weights(50, 50)
    assert await _get_versions(router.url, 400, concurrency=8) == {"v1": 200, "v2": 200}


async def test_weight_changes_under_load_fail_no_request(stub_backend, router_process):
    router = router_process([stub_backend("v1")], [stub_backend("v2", latency_ms=20)], "100/0")
    stop = asyncio.Event()
    statuses: Counter[int] = Counter()
    versions: Counter[str] = Counter()
    client = HttpClient(router.url, max_connections=16)

    async def client_loop() -> None:
        while not stop.is_set():
            resp = await client.request("POST", "/v1/wallet/transactions", json={})
            statuses[resp.status] += 1
            versions[resp.headers["x-version"]] += 1

    async def after(n: int) -> None:  # each change happens with requests in flight
        target = sum(statuses.values()) + n
        deadline = time.monotonic() + 30
        while sum(statuses.values()) < target:
            assert time.monotonic() < deadline, f"the load stalled: {statuses}"
            assert not any(w.done() for w in workers), "a client failed"
            await asyncio.sleep(0.01)

    workers = [asyncio.create_task(client_loop()) for _ in range(16)]
    try:
        for stable, canary in [(90, 10), (50, 50), (0, 100), (75, 25), (100, 0)] * 2:
            await after(40)
            await asyncio.to_thread(router.set_weights, stable, canary)
        await after(40)
    finally:
        stop.set()
        await asyncio.gather(*workers)  # a transport error would raise here
        await client.aclose()
    assert set(statuses) == {200}, statuses
    assert sum(statuses.values()) >= 440
    assert versions["v1"] > 0 and versions["v2"] > 0


async def test_websocket_passthrough_both_ways(stub_backend, router_process):
    router = router_process([stub_backend("v1")], [stub_backend("v2")], "100/0")
    ws_url = f"ws://127.0.0.1:{router.port}/v1/ws"
    async with websockets.connect(ws_url) as ws:
        for i in range(100):
            await ws.send(f"m{i}")
            assert await ws.recv() == f"v1:m{i}"
        big = "x" * 1_000_000
        await ws.send(big)
        assert await ws.recv() == f"v1:{big}"
        # A weight change does not move an open connection.
        await asyncio.to_thread(router.set_weights, 0, 100)
        await ws.send("still")
        assert await ws.recv() == "v1:still"
    async with websockets.connect(ws_url) as ws:
        await ws.send("new")
        assert await ws.recv() == "v2:new"
    # plain HTTP on the same router still works after the tunnels closed
    async with httpx.AsyncClient(base_url=router.url) as client:
        assert (await client.get("/v1/x")).headers["x-version"] == "v2"
    window = httpx.get(
        f"{router.admin}/v1/window",
        params={
            "target_group": "stable",
            "start": 0,
            "end": time.time() + 5,
            "route_class": "realtime",
        },
    ).json()
    assert window["requests"] == 1 and window["errors"] == 0


async def test_metrics_count_exactly_what_the_client_sent(stub_backend, router_process):
    router = router_process([stub_backend("v1")], [stub_backend("v2")], "50/50")
    t0 = time.time()
    sent: Counter[tuple[str, int]] = Counter()
    async with httpx.AsyncClient(base_url=router.url) as client:
        plan = [("/v1/wallet", 200)] * 40 + [("/v1/wallet", 500)] * 6
        plan += [("/v1/leaderboards/g/records", 200)] * 30 + [("/v1/players/me", 404)] * 4
        plan += [("/healthz", 200)] * 10
        for path, status in plan:
            resp = await client.get(path, params={"status": status} if path != "/healthz" else None)
            assert resp.status_code == status
            sent[(resp.headers["x-version"], status)] += 1
    await asyncio.sleep(1.1)  # the window is whole seconds: let the last one end
    end = time.time()
    totals = {"stable": [0, 0], "canary": [0, 0]}
    for rc in ("wallet", "leaderboard", "players", "ops"):
        for group in ("stable", "canary"):
            params = {"target_group": group, "start": t0, "end": end, "route_class": rc}
            w = httpx.get(f"{router.admin}/v1/window", params=params).json()
            totals[group][0] += w["requests"]
            totals[group][1] += w["errors"]
    expected = {
        g: [
            sum(n for (v, _), n in sent.items() if v == ver),
            sum(n for (v, s), n in sent.items() if v == ver and s >= 500),
        ]
        for g, ver in (("stable", "v1"), ("canary", "v2"))
    }
    assert totals == expected
    text = httpx.get(f"{router.admin}/metrics").text
    samples = {
        (s.name, s.labels.get("target_group"), s.labels.get("route_class")): s.value
        for f in text_string_to_metric_families(text)
        for s in f.samples
        if "le" not in s.labels
    }
    wallet = sum(samples[("canaryctl_router_requests_total", g, "wallet")] for g in totals)
    wallet_errors = sum(samples[("canaryctl_router_errors_total", g, "wallet")] for g in totals)
    assert (wallet, wallet_errors) == (46, 6)
    count = sum(
        samples[("canaryctl_router_request_duration_seconds_count", g, "leaderboard")]
        for g in totals
    )
    assert count == 30
