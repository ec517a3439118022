"""Request bodies of the inventory and store routes."""

from __future__ import annotations

from gamebackend.schemas_common import Body, Count, Identifier, PlayerRef

__all__ = ["GrantIn", "ItemChangeIn"]


class ItemChangeIn(Body):
    """A purchase or a consumption: the item and how many."""

    item_id: Identifier
    qty: Count
    player_id: PlayerRef | None = None


class GrantIn(Body):
    player_id: PlayerRef
    item_id: Identifier
    qty: Count
