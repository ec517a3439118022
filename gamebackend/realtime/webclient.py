"""The web client: static files at ``GET /`` and ``/static/...``, and guest sign-up.

``POST /v1/players/guest`` ``{"name"}`` creates a player like ``POST /v1/players`` and credits
it ``GAMEBACKEND_WS_WELCOME_COINS`` coins (the game server's credit, idempotent per player), so
a guest can buy something at once. Set it to 0 to give nothing.
"""

from __future__ import annotations

import uuid
from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from gamebackend.auth import Principal
from gamebackend.players.schemas import NewPlayer
from gamebackend.players.service import PlayerService
from gamebackend.wallet.schemas import TransactionIn
from gamebackend.wallet.service import WalletService
from gamebackend.web import json_response, read_body

__all__ = ["STATIC_DIR", "routes"]

STATIC_DIR = Path(__file__).resolve().parent.parent / "static"
_GAME_SERVER = Principal(player_id=None, admin=True)


async def index(request: Request) -> Response:
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


async def guest(request: Request) -> Response:
    ctx = request.app.state.ctx
    body = await read_body(request, NewPlayer, ctx.settings.max_body_bytes)
    created = await PlayerService(ctx).register(body)
    coins = ctx.realtime.settings.welcome_coins if ctx.realtime is not None else 0
    balances = {currency: 0 for currency in ctx.data.catalogue.currencies}
    if coins and "coins" in balances:
        credit = TransactionIn(
            currency="coins",
            amount=coins,
            reason="welcome",
            player_id=uuid.UUID(created["player_id"]),
        )
        await WalletService(ctx).transact(_GAME_SERVER, credit, f"welcome:{created['player_id']}")
        balances["coins"] = coins
    return json_response({**created, "balances": balances}, status=201)


def routes() -> list[BaseRoute]:
    return [
        Route("/", index, methods=["GET"]),
        Route("/v1/players/guest", guest, methods=["POST"]),
        Mount("/static", StaticFiles(directory=STATIC_DIR), name="static"),
    ]
