"""HTTP routes of the matchmaking domain (thin: parse, call the service, answer)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gamebackend.errors import ApiError
from gamebackend.matchmaking.schemas import TicketIn
from gamebackend.matchmaking.service import MatchmakingService
from gamebackend.web import json_response, read_body

__all__ = ["routes"]


def _service(request: Request) -> MatchmakingService:
    ctx = request.app.state.ctx
    assert ctx.realtime is not None
    return MatchmakingService(ctx, ctx.realtime.rules)


def _ticket_id(request: Request) -> str:
    raw = request.path_params["ticket_id"]
    try:
        return str(uuid.UUID(raw))
    except ValueError:
        raise ApiError(404, "not_found", f"no ticket {raw[:64]}") from None


async def post_ticket(request: Request) -> Response:
    svc = _service(request)
    principal = svc.ctx.authenticate(request)
    body = await read_body(request, TicketIn, svc.ctx.settings.max_body_bytes)
    return json_response(await svc.create(principal, body), status=201)


async def get_ticket(request: Request) -> Response:
    svc = _service(request)
    principal = svc.ctx.authenticate(request)
    return json_response(await svc.get(principal, _ticket_id(request)))


async def delete_ticket(request: Request) -> Response:
    svc = _service(request)
    principal = svc.ctx.authenticate(request)
    return json_response(await svc.cancel(principal, _ticket_id(request)))


async def get_stats(request: Request) -> Response:
    svc = _service(request)
    svc.ctx.authenticate(request)
    return json_response(await svc.stats())


def routes() -> list[Route]:
    prefix = "/v1/matchmaking"
    return [
        Route(prefix + "/tickets", post_ticket, methods=["POST"]),
        Route(prefix + "/tickets/{ticket_id}", get_ticket, methods=["GET"]),
        Route(prefix + "/tickets/{ticket_id}", delete_ticket, methods=["DELETE"]),
        Route(prefix + "/stats", get_stats, methods=["GET"]),
    ]
