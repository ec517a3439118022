"""HTTP routes of the leaderboards domain (thin: parse, call the service, answer)."""

from __future__ import annotations

import uuid

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gamebackend.errors import ApiError
from gamebackend.leaderboards.schemas import ScoreIn
from gamebackend.leaderboards.service import LeaderboardService
from gamebackend.web import json_response, query_int, read_body
from gamebackend.writes import written

__all__ = ["routes"]


async def list_boards(request: Request) -> Response:
    svc = LeaderboardService(request.app.state.ctx)
    svc.ctx.authenticate(request)
    return json_response(svc.list_boards())


async def post_score(request: Request) -> Response:
    svc = LeaderboardService(request.app.state.ctx)
    principal = svc.ctx.authenticate(request)
    body = await read_body(request, ScoreIn, svc.ctx.settings.max_body_bytes)
    return written(await svc.submit(principal, request.path_params["board_id"], body))


async def get_records(request: Request) -> Response:
    svc = LeaderboardService(request.app.state.ctx)
    svc.ctx.authenticate(request)
    page = await svc.records(
        request.path_params["board_id"],
        request.query_params.get("period"),
        request.query_params.get("cursor", ""),
        query_int(request, "limit", 20, 1, 100),
    )
    return json_response(page)


async def get_around(request: Request) -> Response:
    svc = LeaderboardService(request.app.state.ctx)
    svc.ctx.authenticate(request)
    try:
        player = str(uuid.UUID(request.path_params["player_id"]))
    except ValueError:
        raise ApiError(404, "not_found", "no such player") from None
    page = await svc.around(
        request.path_params["board_id"],
        player,
        request.query_params.get("period"),
        query_int(request, "limit", 11, 1, 101),
    )
    return json_response(page)


def routes() -> list[Route]:
    prefix = "/v1/leaderboards"
    return [
        Route(prefix, list_boards, methods=["GET"]),
        Route(prefix + "/{board_id}/scores", post_score, methods=["POST"]),
        Route(prefix + "/{board_id}/records", get_records, methods=["GET"]),
        Route(prefix + "/{board_id}/records/around/{player_id}", get_around, methods=["GET"]),
    ]
