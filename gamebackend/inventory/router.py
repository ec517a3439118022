"""HTTP routes of the inventory and store (thin: parse, call the service, answer)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gamebackend.inventory.schemas import GrantIn, ItemChangeIn
from gamebackend.inventory.service import InventoryService
from gamebackend.web import idempotency_key, json_response, query_int, query_player, read_body
from gamebackend.writes import written

__all__ = ["routes"]


async def get_inventory(request: Request) -> Response:
    svc = InventoryService(request.app.state.ctx)
    principal = svc.ctx.authenticate(request)
    return json_response(await svc.inventory(principal, query_player(request)))


async def get_events(request: Request) -> Response:
    svc = InventoryService(request.app.state.ctx)
    principal = svc.ctx.authenticate(request)
    page = await svc.events(
        principal,
        query_player(request),
        request.query_params.get("cursor", ""),
        query_int(request, "limit", 20, 1, 100),
    )
    return json_response(page)


async def get_store_items(request: Request) -> Response:
    svc = InventoryService(request.app.state.ctx)
    svc.ctx.authenticate(request)
    return json_response(svc.catalogue())


async def _change(request: Request, action: str) -> Response:
    svc = InventoryService(request.app.state.ctx)
    principal = svc.ctx.authenticate(request)
    if action == "grant":
        principal.require_admin()
    key = idempotency_key(request)
    limit = svc.ctx.settings.max_body_bytes
    if action == "grant":
        return written(await svc.grant(principal, await read_body(request, GrantIn, limit), key))
    body = await read_body(request, ItemChangeIn, limit)
    if action == "purchase":
        return written(await svc.purchase(principal, body, key))
    return written(await svc.consume(principal, body, key))


async def post_purchase(request: Request) -> Response:
    return await _change(request, "purchase")


async def post_consume(request: Request) -> Response:
    return await _change(request, "consume")


async def post_grant(request: Request) -> Response:
    return await _change(request, "grant")


def routes() -> list[Route]:
    return [
        Route("/v1/inventory", get_inventory, methods=["GET"]),
        Route("/v1/inventory/events", get_events, methods=["GET"]),
        Route("/v1/inventory/consume", post_consume, methods=["POST"]),
        Route("/v1/inventory/grants", post_grant, methods=["POST"]),
        Route("/v1/store/items", get_store_items, methods=["GET"]),
        Route("/v1/store/purchase", post_purchase, methods=["POST"]),
    ]
