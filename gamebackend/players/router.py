"""HTTP routes of the players domain (thin: parse, call the service, answer)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gamebackend.errors import ApiError
from gamebackend.players.schemas import NewPlayer
from gamebackend.players.service import PlayerService
from gamebackend.web import json_response, read_body

__all__ = ["routes"]


def _service(request: Request) -> PlayerService:
    return PlayerService(request.app.state.ctx)


async def register(request: Request) -> Response:
    svc = _service(request)
    body = await read_body(request, NewPlayer, svc.ctx.settings.max_body_bytes)
    return json_response(await svc.register(body), status=201)


async def profile(request: Request) -> Response:
    svc = _service(request)
    principal = svc.ctx.authenticate(request)
    player_id = request.path_params["player_id"]
    try:
        player_id = str(uuid.UUID(player_id))
    except ValueError:
        raise ApiError(404, "not_found", f"no player {player_id}") from None
    return json_response(await svc.profile(principal, player_id))


def routes() -> list[Route]:
    return [
        Route("/v1/players", register, methods=["POST"]),
        Route("/v1/players/{player_id}", profile, methods=["GET"]),
    ]
