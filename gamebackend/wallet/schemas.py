"""Request bodies of the wallet routes."""

from __future__ import annotations

from gamebackend.schemas_common import Body, Currency, Money, PlayerRef, Reason

__all__ = ["TransactionIn", "TransferIn"]


class TransactionIn(Body):
    """Negative amount: a spend by the player; positive: a credit (admin key only)."""

    currency: Currency
    amount: Money
    reason: Reason = ""
    player_id: PlayerRef | None = None


class TransferIn(Body):
    to_player: PlayerRef
    currency: Currency
    amount: Money
    player_id: PlayerRef | None = None
