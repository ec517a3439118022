"""Request bodies of the matchmaking routes."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints

from gamebackend.schemas_common import Body, PlayerRef

__all__ = ["TicketIn"]

Ping = Annotated[int, Field(strict=True, ge=0, le=10_000)]
Region = Annotated[str, StringConstraints(min_length=1, max_length=32)]


class TicketIn(Body):
    mode: Literal["duel", "squad"]
    regions: Annotated[dict[Region, Ping], Field(min_length=1, max_length=32)]
    mmr: Annotated[int, Field(strict=True, ge=0, le=10_000)]
    player_id: PlayerRef | None = None
