"""Request bodies of the leaderboard routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gamebackend.schemas_common import Body, Identifier, PlayerRef

__all__ = ["MAX_SCORE", "ScoreIn"]

# Scores are ranked in Redis as doubles: stay far below 2**53 so every score is exact.
MAX_SCORE = 10**12


class ScoreIn(Body):
    score: Annotated[int, Field(strict=True, ge=0, le=MAX_SCORE)]
    submission_id: Identifier
    player_id: PlayerRef | None = None
