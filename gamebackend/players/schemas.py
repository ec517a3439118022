"""Request bodies of the players routes."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from gamebackend.schemas_common import Body

__all__ = ["NewPlayer"]


class NewPlayer(Body):
    name: Annotated[str, Field(min_length=1, max_length=64)]
