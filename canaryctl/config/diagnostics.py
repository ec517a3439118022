"""Turning validation problems into one ``file:line: field: problem`` line.

A ``Source`` is a loaded document plus where its values came from: the file (with lines) or a
``--set PATH=VALUE`` flag, in which case the error names the flag instead of a line.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from canaryctl.config.yamlload import LineDict, walk_loc
from canaryctl.errors import ConfigError

__all__ = ["Source", "validate"]

M = TypeVar("M", bound=BaseModel)


def _display(data: Any, found: list[Any], loc: Sequence[Any]) -> str:
    parts = list(found)
    last = loc[-1] if loc else None
    node = data
    for part in found:
        node = node[part]
    # A missing key is not in the data: name it anyway, unless it is a union tag ("local")
    # or a validator's name ("[key]", "function-after[...]").
    is_tag = isinstance(node, dict) and node.get("type") == last
    if isinstance(last, str) and parts[-1:] != [last] and not is_tag and not set("[-") & set(last):
        parts.append(last)
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@dataclass
class Source:
    path: str
    data: LineDict
    origins: dict[tuple[Any, ...], str] = field(default_factory=dict)

    def error(self, loc: Sequence[Any], problem: str) -> ConfigError:
        found, line = walk_loc(self.data, loc)
        name = _display(self.data, found, loc) or None
        for prefix_len in range(len(loc), 0, -1):
            flag = self.origins.get(tuple(loc[:prefix_len])) or self.origins.get(
                tuple(found[:prefix_len])
            )
            if flag:
                return ConfigError(flag, None, name, problem)
        return ConfigError(self.path, line, name, problem)


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float | bool) or value is None


def _message(err: dict[str, Any]) -> str:
    kind, ctx, value = err["type"], err.get("ctx") or {}, err.get("input")
    got = f" (got {value!r})" if _scalar(value) and kind != "missing" else ""
    if kind == "missing":
        return "is required"
    if kind in ("field_error", "unknown_field"):
        return str(ctx["message"])
    if kind == "union_tag_invalid":
        known = str(ctx.get("expected_tags", "")).replace("'", "")
        return f"unknown type {ctx.get('tag')!r} (known: {known})"
    if kind == "union_tag_not_found":
        key = str(ctx.get("discriminator", "type")).strip("'")
        return f"needs a {key!r} key"
    if kind == "literal_error":
        return f"must be {ctx.get('expected')}{got}"
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"must be a whole number{got}"
    if kind in ("float_parsing", "float_type"):
        return f"must be a number{got}"
    if kind in ("bool_parsing", "bool_type"):
        return f"must be true or false{got}"
    if kind in ("dict_type", "model_type", "model_attributes_type"):
        return f"must be a mapping of keys to values{got}"
    if kind == "list_type":
        return f"must be a list{got}"
    if kind in ("string_type",):
        return f"must be text{got}"
    if kind == "too_short":
        return "must not be empty"
    msg = str(err.get("msg", "invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        msg = msg.removeprefix(prefix)
    if msg.startswith("Input should be "):
        msg = "must be " + msg.removeprefix("Input should be ") + got
    return msg


def _location(err: dict[str, Any]) -> tuple[Any, ...]:
    loc = tuple(err["loc"])
    extra = (err.get("ctx") or {}).get("field") if err["type"] == "field_error" else None
    if extra is not None:
        loc += tuple(extra) if isinstance(extra, tuple) else (extra,)
    if err["type"] == "union_tag_invalid":
        loc += ((err.get("ctx") or {}).get("discriminator", "type").strip("'"),)
    return loc


def validate(model: type[M], source: Source) -> M:
    """Validate the source's data; the first problem (by line) becomes a ``ConfigError``."""
    try:
        return model.model_validate(source.data)
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [dict(e) for e in exc.errors(include_url=False)]
        ranked = sorted(errors, key=lambda e: walk_loc(source.data, _location(e))[1] or 0)
        first = ranked[0]
        problem = _message(first)
        if len(errors) > 1:
            more = len(errors) - 1
            problem += f" (and {more} more problem{'s' if more > 1 else ''})"
        raise source.error(_location(first), problem) from None
