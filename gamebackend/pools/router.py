"""HTTP routes of the pools domain (thin: parse, call the service, answer)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gamebackend.pools.schemas import ContributionIn, PayoutIn
from gamebackend.pools.service import PoolService
from gamebackend.web import idempotency_key, json_response, read_body
from gamebackend.writes import written

__all__ = ["routes"]


async def get_pool(request: Request) -> Response:
    svc = PoolService(request.app.state.ctx)
    principal = svc.ctx.authenticate(request)
    return json_response(await svc.balance(principal, request.path_params["pool_id"]))


async def post_contribution(request: Request) -> Response:
    svc = PoolService(request.app.state.ctx)
    principal = svc.ctx.authenticate(request)
    key = idempotency_key(request)
    body = await read_body(request, ContributionIn, svc.ctx.settings.max_body_bytes)
    return written(await svc.contribute(principal, request.path_params["pool_id"], body, key))


async def post_payout(request: Request) -> Response:
    svc = PoolService(request.app.state.ctx)
    principal = svc.ctx.authenticate(request)
    principal.require_admin()
    key = idempotency_key(request)
    body = await read_body(request, PayoutIn, svc.ctx.settings.max_body_bytes)
    return written(await svc.payout(principal, request.path_params["pool_id"], body, key))


def routes() -> list[Route]:
    return [
        Route("/v1/pools/{pool_id}", get_pool, methods=["GET"]),
        Route("/v1/pools/{pool_id}/contributions", post_contribution, methods=["POST"]),
        Route("/v1/pools/{pool_id}/payouts", post_payout, methods=["POST"]),
    ]
