"""The base model of every pipeline/policy section and the unit-typed fields they share.

YAML keys are camelCase (``healthTimeout``), Python attributes snake_case (``health_timeout``).
Unknown keys are refused with the list of known ones (and a did-you-mean), because a typo'd
key silently ignored is how a 1% error bound becomes no bound at all.
"""

from __future__ import annotations

import difflib
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

from canaryctl.config.units import parse_duration, parse_factor, parse_percent

__all__ = [
    "Duration",
    "Factor",
    "Model",
    "Percent",
    "PositiveDuration",
    "field_error",
    "suggest",
]


def suggest(word: str, known: list[str]) -> str:
    """``; did you mean 'x'?`` when a known word is close, else ''."""
    close = difflib.get_close_matches(word, known, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else ""


def field_error(key: Any, message: str) -> PydanticCustomError:
    """An error about ``key`` (or a tuple path of keys) inside the model being validated. The
    loader appends it to the error's location so the message points at that key's line."""
    return PydanticCustomError("field_error", "{message}", {"field": key, "message": message})


class Model(BaseModel):
    """Strict, immutable, camelCase-aliased."""

    model_config = ConfigDict(
        extra="forbid",
        alias_generator=to_camel,
        populate_by_name=True,
        frozen=True,
    )
    # Keys that belong elsewhere, with the hint to show instead of "unknown field".
    misplaced: ClassVar[dict[str, str]] = {}
    # Fields filled by a validator rather than written (not listed as known keys), and how
    # free-form keys are spelled (listed instead).
    hidden: ClassVar[frozenset[str]] = frozenset()
    dynamic_hint: ClassVar[str] = ""

    @model_validator(mode="before")
    @classmethod
    def _refuse_unknown_keys(cls, data: Any) -> Any:
        if isinstance(data, dict):
            aliases = [f.alias or name for name, f in cls.model_fields.items()]
            accepted = set(aliases) | set(cls.model_fields) | cls._extra_keys()
            for key in data:
                if key in cls.misplaced and key not in accepted:
                    raise field_error(key, cls.misplaced[key])
                if key not in accepted and not cls._dynamic_key(key):
                    shown = [a for a in aliases if a not in cls.hidden]
                    known = ", ".join([*shown, cls.dynamic_hint] if cls.dynamic_hint else shown)
                    hint = suggest(str(key), shown)
                    raise field_error(key, f"unknown field {key!r} (known: {known}){hint}")
        return data

    @classmethod
    def _extra_keys(cls) -> set[str]:
        """Keys a subclass accepts besides its fields (rewritten by its own validator)."""
        return set()

    @classmethod
    def _dynamic_key(cls, key: Any) -> bool:
        """Whether ``key`` is a free-form key (e.g. ``p95``) this model accepts."""
        return False


def _positive(value: float) -> float:
    if value <= 0:
        raise ValueError("must be above zero")
    return value


Duration = Annotated[float, BeforeValidator(parse_duration)]
PositiveDuration = Annotated[float, BeforeValidator(parse_duration), AfterValidator(_positive)]
Percent = Annotated[float, BeforeValidator(parse_percent)]
Factor = Annotated[float, BeforeValidator(parse_factor)]
