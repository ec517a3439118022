"""Field types shared by the request schemas (strict: JSON integers only, no coercion)."""

from __future__ import annotations

import uuid
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

__all__ = ["Body", "Count", "Currency", "Identifier", "Money", "PlayerRef", "Reason"]

# Amount bounds are checked again against the catalogue's max_amount in the services.
Money = Annotated[int, Field(strict=True, ge=-(10**15), le=10**15)]
Count = Annotated[int, Field(strict=True, ge=1, le=1000)]
Currency = Annotated[str, Field(min_length=1, max_length=32)]
Identifier = Annotated[str, Field(min_length=1, max_length=64)]
Reason = Annotated[str, Field(max_length=200)]
PlayerRef = uuid.UUID


class Body(BaseModel):
    """Base of request bodies: unknown fields are refused (a typo must not be ignored)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
