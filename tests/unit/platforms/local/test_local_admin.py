"""The router's admin API and the control API's guard, over real HTTP."""

from __future__ import annotations

import httpx

from canaryctl.platforms.local.admin import add_router_routes
from canaryctl.platforms.local.httpserver import AdminServer
from canaryctl.platforms.local.router import Router


async def _serve(router: Router, token: str | None) -> tuple[AdminServer, str]:
    admin = AdminServer(token=token)
    add_router_routes(admin, router)
    port = await admin.start()
    return admin, f"http://127.0.0.1:{port}"


async def test_weights_need_the_token_and_detect_drift(router: Router):
    router.set_targets("stable", [("127.0.0.1", 9)])
    router.set_targets("canary", [("127.0.0.1", 10)])
    admin, url = await _serve(router, "s3cret")
    try:
        async with httpx.AsyncClient(base_url=url) as c:
            body = {"stable": 90, "canary": 10}
            assert (await c.put("/v1/weights", json=body)).status_code == 401
            ok = await c.put("/v1/weights", json=body, headers={"x-sandbox-token": "s3cret"})
            assert ok.json() == {"stable": 90, "canary": 10}
            drift = await c.put(
                "/v1/weights",
                json={"stable": 50, "canary": 50, "expected": {"stable": 100, "canary": 0}},
                headers={"x-sandbox-token": "s3cret"},
            )
            assert drift.status_code == 409 and drift.json()["code"] == "drift"
            assert router.weights == (90, 10)  # a refused change changes nothing
            bad = await c.put(
                "/v1/weights",
                json={"stable": 60, "canary": 60},
                headers={"x-sandbox-token": "s3cret"},
            )
            assert bad.status_code == 400 and "add up to 100" in bad.json()["error"]
            assert (await c.get("/v1/nope")).status_code == 404
    finally:
        await admin.close()


async def test_canary_weight_without_canary_targets_is_refused(router: Router):
    router.set_targets("stable", [("127.0.0.1", 9)])
    admin, url = await _serve(router, None)
    try:
        async with httpx.AsyncClient(base_url=url) as c:
            resp = await c.put("/v1/weights", json={"stable": 90, "canary": 10})
    finally:
        await admin.close()
    assert resp.status_code == 409 and resp.json()["code"] == "no_canary"
    assert router.weights == (100, 0)


async def test_window_endpoint_validates_its_query(router: Router):
    admin, url = await _serve(router, None)
    try:
        async with httpx.AsyncClient(base_url=url) as c:
            assert (await c.get("/v1/window", params={"target_group": "x"})).status_code == 400
            r = await c.get("/v1/window", params={"target_group": "canary", "start": 0})
            assert r.status_code == 400 and "epoch seconds" in r.json()["error"]
            ok = await c.get("/v1/window", params={"target_group": "canary", "start": 0, "end": 1})
            assert ok.json()["requests"] == 0
            metrics = await c.get("/metrics")
            assert 'canaryctl_router_weight_percent{target_group="stable"} 100' in metrics.text
    finally:
        await admin.close()
