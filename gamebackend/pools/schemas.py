"""Request bodies of the pools routes."""

from __future__ import annotations

from gamebackend.schemas_common import Body, Currency, Money, PlayerRef, Reason

__all__ = ["ContributionIn", "PayoutIn"]


class ContributionIn(Body):
    currency: Currency
    amount: Money
    player_id: PlayerRef | None = None


class PayoutIn(Body):
    player_id: PlayerRef
    currency: Currency
    amount: Money
    reason: Reason = ""
