"""HTTP routes of the wallet domain (thin: parse, call the service, answer)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from gamebackend.wallet.schemas import TransactionIn, TransferIn
from gamebackend.wallet.service import WalletService
from gamebackend.web import (
    idempotency_key,
    json_response,
    query_int,
    query_player,
    read_body,
)
from gamebackend.writes import written

__all__ = ["routes"]


async def get_wallet(request: Request) -> Response:
    svc = WalletService(request.app.state.ctx)
    principal = svc.ctx.authenticate(request)
    return json_response(await svc.balances(principal, query_player(request)))


async def post_transaction(request: Request) -> Response:
    svc = WalletService(request.app.state.ctx)
    principal = svc.ctx.authenticate(request)
    key = idempotency_key(request)
    body = await read_body(request, TransactionIn, svc.ctx.settings.max_body_bytes)
    return written(await svc.transact(principal, body, key))


async def post_transfer(request: Request) -> Response:
    svc = WalletService(request.app.state.ctx)
    principal = svc.ctx.authenticate(request)
    key = idempotency_key(request)
    body = await read_body(request, TransferIn, svc.ctx.settings.max_body_bytes)
    return written(await svc.transfer(principal, body, key))


async def get_ledger(request: Request) -> Response:
    svc = WalletService(request.app.state.ctx)
    principal = svc.ctx.authenticate(request)
    page = await svc.ledger(
        principal,
        query_player(request),
        request.query_params.get("currency", ""),
        request.query_params.get("cursor", ""),
        query_int(request, "limit", 20, 1, 100),
    )
    return json_response(page)


def routes() -> list[Route]:
    return [
        Route("/v1/wallet", get_wallet, methods=["GET"]),
        Route("/v1/wallet/transactions", post_transaction, methods=["POST"]),
        Route("/v1/wallet/transfers", post_transfer, methods=["POST"]),
        Route("/v1/wallet/ledger", get_ledger, methods=["GET"]),
    ]
