"""Rules of the inventory domain: catalogue prices, never below zero, admin grants."""

from __future__ import annotations

from typing import Any

from gamebackend.auth import Principal
from gamebackend.catalogue import Item
from gamebackend.context import AppContext
from gamebackend.errors import ApiError
from gamebackend.inventory import repository as repo
from gamebackend.inventory.schemas import GrantIn, ItemChangeIn
from gamebackend.players.service import require_player
from gamebackend.web import request_hash
from gamebackend.writes import Written, idempotent_write

__all__ = ["InventoryService"]


class InventoryService:
    def __init__(self, ctx: AppContext) -> None:
        self.ctx = ctx

    def _item(self, item_id: str) -> Item:
        item = self.ctx.data.catalogue.items.get(item_id)
        if item is None:
            known = ", ".join(sorted(self.ctx.data.catalogue.items))
            raise ApiError(
                422, "invalid_body", f"item_id: unknown item {item_id!r} (known: {known})"
            )
        return item

    def catalogue(self) -> dict[str, Any]:
        items = self.ctx.data.catalogue.items
        return {"items": [{"item_id": k, **v.model_dump()} for k, v in sorted(items.items())]}

    async def inventory(self, principal: Principal, requested: str | None) -> dict[str, Any]:
        player = principal.target(requested)
        rows = await repo.items(self.ctx.db, player)
        if not rows and principal.admin:  # empty, or nobody? (a token names a real player)
            await require_player(self.ctx.db, player)
        return {"player_id": player, "items": {r["item_id"]: r["qty"] for r in rows}}

    async def events(
        self, principal: Principal, requested: str | None, cursor: str, limit: int
    ) -> dict[str, Any]:
        player = principal.target(requested)
        if cursor and not cursor.isdigit():
            raise ApiError(422, "invalid_query", "cursor: not a cursor this API returned")
        rows = await repo.event_page(self.ctx.db, player, int(cursor) if cursor else None, limit)
        if not rows and principal.admin:
            await require_player(self.ctx.db, player)
        events = [
            {"event_id": str(r["event_id"]), "txn_id": r["txn_id"], "item_id": r["item_id"],
             "delta": r["delta"], "kind": r["kind"], "created_at": r["created_at"]}
            for r in rows
        ]  # fmt: skip
        more = len(rows) == limit
        return {"events": events, "next_cursor": str(rows[-1]["event_id"]) if more else None}

    async def purchase(self, principal: Principal, body: ItemChangeIn, key: str) -> Written:
        item = self._item(body.item_id)
        player = principal.target(str(body.player_id) if body.player_id else None)
        digest = request_hash("store.purchase", body, player)
        call = repo.purchase(
            self.ctx.db, principal.scope(player), key, digest, player, body.item_id, body.qty,
            item.price.currency, item.price.amount,
        )  # fmt: skip
        return await idempotent_write(self.ctx, call)

    async def consume(self, principal: Principal, body: ItemChangeIn, key: str) -> Written:
        self._item(body.item_id)
        player = principal.target(str(body.player_id) if body.player_id else None)
        digest = request_hash("inventory.consume", body, player)
        call = repo.change_items(
            self.ctx.db,
            principal.scope(player),
            key,
            digest,
            player,
            body.item_id,
            -body.qty,
            "consume",
        )
        return await idempotent_write(self.ctx, call, money=False)

    async def grant(self, principal: Principal, body: GrantIn, key: str) -> Written:
        principal.require_admin()
        self._item(body.item_id)
        player = principal.target(str(body.player_id))
        digest = request_hash("inventory.grant", body, player)
        call = repo.change_items(
            self.ctx.db,
            principal.scope(player),
            key,
            digest,
            player,
            body.item_id,
            body.qty,
            "grant",
        )
        return await idempotent_write(self.ctx, call, money=False)
