"""Rules of the wallet domain: who may move which money, bounds, projections of balances."""

from __future__ import annotations

from typing import Any

from gamebackend.auth import Principal
from gamebackend.context import AppContext
from gamebackend.errors import ApiError
from gamebackend.players.service import require_player
from gamebackend.projections import Arg
from gamebackend.wallet import repository as repo
from gamebackend.wallet.schemas import TransactionIn, TransferIn
from gamebackend.web import request_hash
from gamebackend.writes import Written, idempotent_write

__all__ = ["WalletService", "check_amount", "check_currency"]


def check_currency(ctx: AppContext, currency: str) -> None:
    problem = ctx.data.catalogue.check_currency(currency)
    if problem is not None:
        raise ApiError(422, "invalid_body", f"currency: {problem}")


def check_amount(ctx: AppContext, amount: int, *, positive: bool = False) -> None:
    cap = ctx.data.catalogue.max_amount
    if positive and amount <= 0:
        raise ApiError(422, "invalid_body", f"amount: must be between 1 and {cap}")
    if amount == 0 or abs(amount) > cap:
        raise ApiError(
            422, "invalid_body", f"amount: must be non-zero and at most {cap} in absolute value"
        )


class WalletService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    async def balances(self, principal: Principal, requested: str | None) -> dict[str, Any]:
        player = principal.target(requested)
        served = await self._projected(player)
        if served is None:
            served = await self._from_database(player)
        # Registration creates a player and its wallet rows in one transaction, so no balance
        # at all can only mean an unknown player: only then is the player looked up. (A token
        # names a registered player: players reading their own wallet are not asked.)
        if not served and principal.admin:
            await require_player(self.ctx.db, player)
        full = {cur: served.get(cur, 0) for cur in self.ctx.data.catalogue.currencies}
        return {"player_id": player, "balances": full}

    async def _projected(self, player: str) -> dict[str, int] | None:
        raw = await self.ctx.projections.read("wallet_get", player)
        if raw is None:
            return None
        fields = dict(zip(raw[1::2], raw[2::2], strict=True))
        if "_full" not in fields:
            await self._fill(player, raw[0])
            return None
        fields.pop("_full")
        return {cur: int(value.partition(":")[2]) for cur, value in fields.items()}

    async def _fill(self, player: str, epoch: str) -> None:
        # Rebuild this player's entry from PostgreSQL (versioned: a concurrent write wins).
        rows = await repo.balances(self.ctx.db, player)
        if not rows:  # an unknown player: cache nothing a later read would serve as zeros
            return
        args: list[Arg] = [player, self.ctx.settings.cache_ttl, epoch]
        for r in rows:
            args += [r["currency"], r["version"], r["balance"]]
        await self.ctx.projections.read("wallet_fill", *args)

    async def _from_database(self, player: str) -> dict[str, int]:
        return {r["currency"]: r["balance"] for r in await repo.balances(self.ctx.db, player)}

    async def transact(self, principal: Principal, body: TransactionIn, key: str) -> Written:
        check_currency(self.ctx, body.currency)
        check_amount(self.ctx, body.amount)
        if body.amount > 0 and not principal.admin:
            raise ApiError(
                403, "forbidden", "only the game's servers (admin key) may credit a wallet"
            )
        player = principal.target(str(body.player_id) if body.player_id else None)
        digest = request_hash("wallet.transaction", body, player)
        call = repo.apply_transaction(
            self.ctx.db, principal.scope(player), key, digest, player, body.currency, body.amount,
            body.reason,
        )  # fmt: skip
        return await idempotent_write(self.ctx, call)

    async def transfer(self, principal: Principal, body: TransferIn, key: str) -> Written:
        check_currency(self.ctx, body.currency)
        check_amount(self.ctx, body.amount, positive=True)
        player = principal.target(str(body.player_id) if body.player_id else None)
        to_player = str(body.to_player)
        if to_player == player:
            raise ApiError(422, "invalid_body", "to_player: cannot transfer to yourself")
        digest = request_hash("wallet.transfer", body, player)
        call = repo.transfer(
            self.ctx.db, principal.scope(player), key, digest, player, to_player, body.currency,
            body.amount,
        )  # fmt: skip
        return await idempotent_write(self.ctx, call)

    async def ledger(
        self, principal: Principal, requested: str | None, currency: str, cursor: str, limit: int
    ) -> dict[str, Any]:
        player = principal.target(requested)
        if currency:
            check_currency(self.ctx, currency)
        if cursor and not cursor.isdigit():
            raise ApiError(422, "invalid_query", "cursor: not a cursor this API returned")
        rows = await repo.ledger_page(
            self.ctx.db, player, currency, int(cursor) if cursor else None, limit
        )
        entries = [_entry(r) for r in rows]
        more = len(rows) == limit
        return {"entries": entries, "next_cursor": str(rows[-1]["entry_id"]) if more else None}


def _entry(r: Any) -> dict[str, Any]:
    return {
        "entry_id": str(r["entry_id"]),
        "txn_id": r["txn_id"],
        "currency": r["currency"],
        "amount": r["amount"],
        "balance": r["balance_after"],
        "kind": r["kind"],
        "reason": r["reason"],
        "ref": r["ref"],
        "created_at": r["created_at"],
    }
