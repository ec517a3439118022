"""The common end of every idempotent write: outcome -> answer, metrics, projections."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response

from gamebackend import events
from gamebackend.context import AppContext
from gamebackend.db import WriteResult
from gamebackend.errors import ApiError
from gamebackend.observability import WALLET_TXNS
from gamebackend.projections import Command
from gamebackend.web import raw_json_response

__all__ = ["REPLAYED", "Written", "idempotent_write", "wallet_commands", "written"]

REPLAYED = {"Idempotent-Replayed": "true"}


@dataclass(frozen=True)
class Written:
    """The JSON answer (rendered by PostgreSQL) and whether it is a replay."""

    body: str
    replayed: bool


def wallet_commands(proj: list[Any] | None, ttl: int) -> list[Command]:
    """Projection writes for the wallets a write function reported: [player, cur, ver, bal]*."""
    return [("wallet_set", (p, cur, ver, bal, ttl)) for p, cur, ver, bal in proj or ()]


async def idempotent_write(
    ctx: AppContext, call: Awaitable[WriteResult], *, money: bool = True
) -> Written:
    """Await a repository write, count it, update the wallet projections after the commit."""
    labels = ctx.settings.version
    try:
        result = await call
    except ApiError as exc:
        if money and exc.status == 409:
            WALLET_TXNS.labels("insufficient", labels).inc()
        raise
    if result.outcome == "mismatch":
        if money:
            WALLET_TXNS.labels("conflict", labels).inc()
        raise ApiError(
            422,
            "idempotency_key_reused",
            "this Idempotency-Key was already used with a different request body",
        )
    if result.outcome == "replayed":
        if money:
            WALLET_TXNS.labels("replayed", labels).inc()
        return Written(result.response, replayed=True)
    if money:
        WALLET_TXNS.labels("applied", labels).inc()
    await ctx.projections.publish(wallet_commands(result.proj, ctx.settings.cache_ttl))
    await events.wallets_changed(ctx, result.proj)  # wallet.updated to the players' sockets
    return Written(result.response, replayed=False)


def written(w: Written) -> Response:
    """201 with the stored JSON; a replay says so in the Idempotent-Replayed header."""
    return raw_json_response(w.body, status=201, headers=REPLAYED if w.replayed else None)
