"""The router's admin API: Prometheus metrics, per-second windows as JSON, weights.

GET /metrics                       Prometheus text format (labels target_group, route_class)
GET /v1/window?target_group=canary&start=S&end=E[&route_class=wallet]
                                   counts of the whole seconds in [S, E) from the ring
GET /v1/router                     weights, targets, connections
PUT /v1/weights {"stable": 90, "canary": 10, "expected": {"stable": 100, "canary": 0}}
                                   409 "drift" when the current weights are not ``expected``
"""

from __future__ import annotations

import time
from typing import Any

from canaryctl.metrics.routes import ROUTE_CLASSES
from canaryctl.platforms.local.httpserver import AdminServer, HttpError, HttpRequest, HttpResponse
from canaryctl.platforms.local.router import Router
from canaryctl.platforms.local.stats import GROUPS

__all__ = ["add_router_routes", "apply_weights", "parse_weights"]


def parse_weights(data: Any, what: str = "weights") -> tuple[int, int]:
    """``{"stable": int, "canary": int}`` adding up to 100, else HTTP 400."""
    if not isinstance(data, dict):
        raise HttpError(400, f"{what} must be an object with stable and canary")
    stable, canary = data.get("stable"), data.get("canary")
    if not isinstance(stable, int) or not isinstance(canary, int):
        raise HttpError(400, f"{what}: stable and canary must be integers")
    if not (0 <= canary <= 100 and stable + canary == 100):
        raise HttpError(400, f"{what}: must be 0..100 and add up to 100, got {stable}/{canary}")
    return stable, canary


def apply_weights(router: Router, data: dict[str, Any]) -> dict[str, int]:
    """Set the weights from a control call, checking ``expected`` and that the canary exists."""
    stable, canary = parse_weights(data)
    if data.get("expected") is not None:
        expected = parse_weights(data["expected"], "expected")
        if router.weights != expected:
            cur = router.weights
            raise HttpError(
                409,
                f"weights are {cur[0]}/{cur[1]}, expected {expected[0]}/{expected[1]}",
                "drift",
            )
    if canary > 0 and not router.groups["canary"].upstreams:
        raise HttpError(409, "no canary task set to send traffic to", "no_canary")
    if stable > 0 and not router.groups["stable"].upstreams:
        raise HttpError(409, "no stable task set to send traffic to", "no_stable")
    router.set_weights(stable, canary)
    return {"stable": router.weights[0], "canary": router.weights[1]}


def add_router_routes(server: AdminServer, router: Router) -> None:
    async def metrics(req: HttpRequest) -> HttpResponse:
        extra = [
            "# HELP canaryctl_router_weight_percent Share of new requests per target group.",
            "# TYPE canaryctl_router_weight_percent gauge",
        ]
        for i, group in enumerate(GROUPS):
            extra.append(
                f'canaryctl_router_weight_percent{{target_group="{group}"}} {router.weights[i]}'
            )
        extra += [
            "# HELP canaryctl_router_targets Backend processes per target group.",
            "# TYPE canaryctl_router_targets gauge",
        ]
        for group in GROUPS:
            n = len(router.groups[group].upstreams)
            extra.append(f'canaryctl_router_targets{{target_group="{group}"}} {n}')
        text = router.stats.prometheus_text(extra)
        return HttpResponse(200, text.encode(), "text/plain; version=0.0.4; charset=utf-8")

    async def window(req: HttpRequest) -> HttpResponse:
        group = req.query.get("target_group", "")
        if group not in GROUPS:
            raise HttpError(400, f"target_group must be one of {', '.join(GROUPS)}")
        rc = req.query.get("route_class") or None
        if rc is not None and rc not in ROUTE_CLASSES:
            raise HttpError(400, f"unknown route_class {rc!r}")
        try:
            start, end = float(req.query["start"]), float(req.query["end"])
        except (KeyError, ValueError):
            raise HttpError(400, "start and end must be epoch seconds") from None
        counts = router.stats.window(group, start, end, rc)
        body = counts.to_json()
        body["retained_since"] = router.stats.retained_since()
        body["now"] = time.time()
        return HttpResponse.json(body)

    async def describe(req: HttpRequest) -> HttpResponse:
        return HttpResponse.json(router.describe())

    async def weights(req: HttpRequest) -> HttpResponse:
        return HttpResponse.json(apply_weights(router, req.json()))

    server.route("GET", "/metrics", metrics)
    server.route("GET", "/v1/window", window)
    server.route("GET", "/v1/router", describe)
    server.route("PUT", "/v1/weights", weights)
