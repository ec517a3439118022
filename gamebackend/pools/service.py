"""Rules of the pools domain."""

from __future__ import annotations

import random
from typing import Any

from gamebackend.auth import Principal
from gamebackend.catalogue import Pool
from gamebackend.context import AppContext
from gamebackend.errors import ApiError
from gamebackend.pools import repository as repo
from gamebackend.pools.schemas import ContributionIn, PayoutIn
from gamebackend.wallet.service import check_amount, check_currency
from gamebackend.web import request_hash
from gamebackend.writes import Written, idempotent_write

__all__ = ["PoolService"]


class PoolService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def _pool(self, pool_id: str, currency: str | None) -> Pool:
        pool = self.ctx.data.catalogue.pools.get(pool_id)
        if pool is None:
            raise ApiError(404, "not_found", f"no pool {pool_id!r}")
        if currency is not None:
            check_currency(self.ctx, currency)
            if currency not in pool.currencies:
                takes = ", ".join(pool.currencies)
                raise ApiError(422, "invalid_body", f"currency: pool {pool_id!r} takes {takes}")
        return pool

    async def balance(self, principal: Principal, pool_id: str) -> dict[str, Any]:
        currencies = self._pool(pool_id, None).currencies
        rows = {r["currency"]: r["balance"] for r in await repo.pool_balances(self.ctx.db, pool_id)}
        return {"pool": pool_id, "balances": {cur: rows.get(cur, 0) for cur in currencies}}

    async def contribute(
        self, principal: Principal, pool_id: str, body: ContributionIn, key: str
    ) -> Written:
        pool = self._pool(pool_id, body.currency)
        check_amount(self.ctx, body.amount, positive=True)
        player = principal.target(str(body.player_id) if body.player_id else None)
        digest = request_hash("pool.contribution", body, player, pool_id)
        scope = principal.scope(player)
        if pool.strategy == "single_row":
            naive = repo.contribute_single_row(
                self.ctx.db, scope, key, digest, player, pool_id, body.currency, body.amount
            )
            return await idempotent_write(self.ctx, naive)
        # A random shard: concurrent contributions spread over pool_shards rows instead of
        # queueing on one (the shard does not take part in the request's identity).
        shard = random.randrange(self.ctx.settings.pool_shards)
        call = repo.contribute(
            self.ctx.db, scope, key, digest, player, pool_id, body.currency, body.amount, shard
        )
        return await idempotent_write(self.ctx, call)

    async def payout(self, principal: Principal, pool_id: str, body: PayoutIn, key: str) -> Written:
        principal.require_admin()
        self._pool(pool_id, body.currency)
        check_amount(self.ctx, body.amount, positive=True)
        player = principal.target(str(body.player_id))
        digest = request_hash("pool.payout", body, player, pool_id)
        call = repo.payout(
            self.ctx.db, principal.scope(player), key, digest, player, pool_id, body.currency,
            body.amount, body.reason,
        )  # fmt: skip
        return await idempotent_write(self.ctx, call)
