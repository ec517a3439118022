"""Units policy authors write: durations (``250ms``, ``30s``, ``2m``), percentages (``1%``,
``0.01``) and factors (``1.2x``). Parsers raise ``ValueError`` with a message that says how
to write the value, so the loader can show it next to file:line."""

from __future__ import annotations

import math
import re

__all__ = [
    "format_duration",
    "format_percent",
    "parse_duration",
    "parse_factor",
    "parse_percent",
]

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
_WHOLE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h))+")
_FACTOR = re.compile(r"(\d+(?:\.\d+)?)\s*[x×]?")
_PERCENT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def _number(value: object) -> float | None:
    # bool is an int in Python, but `true` is never a sensible duration or rate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if not math.isfinite(value):
        raise ValueError(f"{value!r} is not a finite number")
    return float(value)


def parse_duration(value: object) -> float:
    """``250ms`` → 0.25, ``2m`` → 120.0, ``1m30s`` → 90.0; a bare number is seconds."""
    number = _number(value)
    if number is not None:
        if number < 0:
            raise ValueError(f"duration {value!r} is negative")
        return number
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if _WHOLE.fullmatch(text):
            return sum(float(n) * _UNITS[unit] for n, unit in _PART.findall(text))
    raise ValueError(f"invalid duration {value!r}: write e.g. 250ms, 30s, 2m or 1h")


def parse_percent(value: object) -> float:
    """``1%`` → 0.01; a bare number is a fraction (0.01 == 1%) and must be within 0..1."""
    number = _number(value)
    if number is None and isinstance(value, str):
        match = _PERCENT.fullmatch(value.strip())
        if match:
            number = float(match.group(1)) / 100.0
        else:
            try:
                number = float(value.strip())
            except ValueError:
                number = None
            if number is not None and not math.isfinite(number):
                number = None
    if number is None:
        raise ValueError(f"invalid percentage {value!r}: write e.g. 1% or 0.01")
    if number < 0:
        raise ValueError(f"percentage {value!r} is negative")
    if number > 1:
        raise ValueError(f"{value!r} is above 100%; write {value}% if you meant percent")
    return number


def parse_factor(value: object) -> float:
    """``1.2x`` (or ``1.2``) → 1.2."""
    number = _number(value)
    if number is None and isinstance(value, str):
        match = _FACTOR.fullmatch(value.strip())
        number = float(match.group(1)) if match else None
    if number is None:
        raise ValueError(f"invalid factor {value!r}: write e.g. 1.2x")
    if number <= 0:
        raise ValueError(f"factor {value!r} must be above zero")
    return number


def format_duration(seconds: float | None) -> str:
    """The inverse of ``parse_duration`` for display: 0.25 → ``250ms``, 90 → ``1m30s``."""
    if seconds is None:
        return "-"
    if seconds < 1:
        return f"{seconds * 1000:.0f}ms" if seconds * 1000 >= 10 else f"{seconds * 1000:.1f}ms"
    if seconds < 60:
        return f"{seconds:g}s" if seconds == int(seconds) else f"{seconds:.1f}s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes}m" if minutes else f"{hours}h"


def format_percent(fraction: float | None) -> str:
    """0.01 → ``1%``, 0.0125 → ``1.25%``."""
    if fraction is None:
        return "-"
    pct = fraction * 100
    return f"{pct:.2f}".rstrip("0").rstrip(".") + "%" if pct else "0%"
