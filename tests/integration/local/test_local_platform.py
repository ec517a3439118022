"""LocalPlatform against a running sandbox with the real backend: every call idempotent,
weights verified, promote and rollback under load without a failed request."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import httpx
import psutil
import pytest

from canaryctl.errors import InvalidInput, PlatformError, TrafficDrift, UnhealthyTaskSet
from canaryctl.load import run_in_background
from canaryctl.metrics.base import Target, WindowStats
from canaryctl.metrics.embedded import EmbeddedSource
from canaryctl.platforms.base import CanarySpec, Weights
from canaryctl.platforms.local.platform import LocalPlatform

pytestmark = pytest.mark.integration


@pytest.fixture
def platform(sandbox) -> LocalPlatform:
    config = SimpleNamespace(type="local", sandbox=str(sandbox.dir), health_timeout=60.0)
    plat = LocalPlatform.from_config(config, service="gamebackend", base_dir=Path("."))
    plat.rollback()  # each test starts from "stable only, 100/0"
    yield plat
    plat.rollback()
    plat.close()


def versions_served(url: str, n: int) -> Counter[str]:
    with httpx.Client(base_url=url) as client:
        return Counter(client.get("/healthz").json()["version"] for _ in range(n))


def pids_of(ts) -> set[int]:
    return {p["pid"] for p in ts.details["processes"]}


def wait_dead(pids: set[int], timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie" for p in pids):
            return True
        time.sleep(0.1)
    return False


def test_no_sandbox_is_a_clear_error(tmp_path: Path):
    config = SimpleNamespace(type="local", sandbox=str(tmp_path / "none"), health_timeout=5.0)
    with pytest.raises(InvalidInput) as exc:
        LocalPlatform.from_config(config, service="gamebackend", base_dir=Path("."))
    assert str(exc.value) == (
        f"no sandbox running in {tmp_path / 'none'} (run `canaryctl sandbox up`)"
    )


def test_canary_lifecycle_is_idempotent(platform: LocalPlatform, sandbox):
    first = platform.start_canary(CanarySpec("v2", env={"GAMEBACKEND_LOG_LEVEL": "warning"}))
    again = platform.start_canary(CanarySpec("v2"))
    assert again.id == first.id and again.version == "v2"
    with pytest.raises(PlatformError) as other:
        platform.start_canary(CanarySpec("v3"))
    assert other.value.code == "canary_exists" and "v2" in str(other.value)

    with pytest.raises(PlatformError):  # no traffic to a canary that is not healthy yet
        platform.set_weights(Weights.canary_percent(10), expected=Weights(100, 0))
    healthy = platform.wait_healthy(60)
    assert healthy.healthy and healthy.running == 2

    w = platform.set_weights(Weights.canary_percent(10), expected=Weights(100, 0))
    assert w == Weights(90, 10)
    with pytest.raises(TrafficDrift):
        platform.set_weights(Weights.canary_percent(50), expected=Weights(100, 0))
    assert platform.describe().weights == Weights(90, 10)  # a refused change changed nothing
    assert versions_served(sandbox.router_url, 200) == {"v1": 180, "v2": 20}

    canary_pids = pids_of(platform.describe().canary)
    state = platform.rollback()
    assert state.canary is None and state.weights == Weights(100, 0)
    assert platform.rollback().canary is None  # safe to repeat
    assert wait_dead(canary_pids)
    assert versions_served(sandbox.router_url, 20) == {"v1": 20}


def test_unhealthy_canary_is_reported_with_its_reason(platform: LocalPlatform):
    platform.start_canary(CanarySpec("v9", env={"GAMEBACKEND_FAULTS": "latency=fast"}))
    t0 = time.monotonic()
    with pytest.raises(UnhealthyTaskSet) as exc:
        platform.wait_healthy(60)
    assert time.monotonic() - t0 < 30  # a process that exited fails fast, not at the timeout
    assert "GAMEBACKEND_FAULTS" in str(exc.value) and "exited with code 2" in str(exc.value)
    with pytest.raises(PlatformError) as promote:
        platform.promote()
    assert promote.value.code == "canary_unhealthy"


def test_promote_under_load_fails_no_request_and_stops_the_old_stable(
    platform: LocalPlatform, sandbox
):
    old_stable = platform.describe().stable
    assert old_stable is not None
    load = run_in_background(sandbox.router_url, "steady", rps=40, duration=60, seed=7)
    try:
        platform.start_canary(CanarySpec("v5"))
        platform.wait_healthy(60)
        platform.set_weights(Weights.canary_percent(50), expected=Weights(100, 0))
        time.sleep(2)
        state = platform.promote()
        assert state.stable is not None and state.stable.version == "v5"
        assert state.canary is None and state.weights == Weights(100, 0)
        assert platform.promote().stable.version == "v5"  # type: ignore[union-attr]
        time.sleep(2)
    finally:
        summary = load.stop()
    assert summary["requests"] > 100
    bad = {k: v for k, v in summary["status_counts"].items() if k == "transport" or k[0] == "5"}
    assert bad == {}, summary
    assert wait_dead(pids_of(old_stable))
    assert versions_served(sandbox.router_url, 10) == {"v5": 10}
    # the embedded source saw the canary's share of that traffic
    now = time.time()
    window = EmbeddedSource(sandbox.control_url).window(Target.CANARY, now - 120, now)
    assert isinstance(window, WindowStats) and window.requests > 0 and window.errors == 0


def test_router_metrics_count_exactly_what_the_load_generator_sent(platform, sandbox):
    platform.start_canary(CanarySpec("v6"))
    platform.wait_healthy(60)
    platform.set_weights(Weights.canary_percent(20), expected=Weights(100, 0))
    time.sleep(1.1)
    t0 = time.time()
    handle = run_in_background(sandbox.router_url, "steady", rps=100, duration=30, max_requests=400)
    summary = handle.wait(60)
    time.sleep(1.1)  # windows are whole seconds: let the last one end
    t1 = time.time()
    assert summary is not None and summary["completed"] == summary["requests"] == 400
    assert summary["server_errors"] == 0, summary
    source = EmbeddedSource(sandbox.control_url)
    by_class: Counter[str] = Counter()
    total = {Target.STABLE: 0, Target.CANARY: 0}
    for target in total:
        for rc in summary["by_route_class"]:
            w = source.window(target, t0, t1, rc)
            if isinstance(w, WindowStats):
                by_class[rc] += w.requests
                total[target] += w.requests
                assert w.errors == 0
    assert dict(by_class) == summary["by_route_class"]
    assert total[Target.CANARY] == 80  # 20% of 400, exactly (smooth weighted round-robin)


async def test_websocket_gateway_through_the_router_gets_server_pushes(platform, sandbox):
    import asyncio
    import json
    import uuid

    import websockets

    player = httpx.post(f"{sandbox.router_url}/v1/players", json={"name": "ws"}).json()
    url = sandbox.router_url.replace("http://", "ws://") + f"/v1/ws?token={player['token']}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"type": "ping", "cid": "c1", "payload": {}}))
        pong = json.loads(await ws.recv())
        assert (pong["type"], pong["cid"]) == ("pong", "c1")
        await ws.send(
            json.dumps({"type": "subscribe", "cid": "c2", "payload": {"topic": "wallet"}})
        )
        assert json.loads(await ws.recv())["type"] == "subscribed"
        credit = await asyncio.to_thread(
            httpx.post,
            f"{sandbox.router_url}/v1/wallet/transactions",
            json={
                "player_id": player["player_id"],
                "currency": "coins",
                "amount": 7,
                "reason": "t",
            },
            headers={"x-admin-key": sandbox.info["admin_key"], "idempotency-key": uuid.uuid4().hex},
        )
        assert credit.status_code == 201
        push = json.loads(await asyncio.wait_for(ws.recv(), 10))  # server → client, unprompted
        assert push["type"] == "wallet.updated" and push["payload"]["balances"]["coins"] == 7
