"""Fault injection for canary demonstrations: ``GAMEBACKEND_FAULTS``.

Grammar: comma-separated items, each ``latency=<duration>[@<probability>]``,
``errors=<probability>`` or ``routes=<class>[|<class>...]``. Durations take ``ms`` or ``s``;
probabilities are in [0, 1] (a ``%`` suffix is accepted). Example:
``latency=300ms@0.2,errors=0.05`` adds 300 ms to 20% of requests and answers 5% with HTTP 500;
``errors=0.2,routes=wallet`` fails 20% of the wallet's requests and nothing else. Faults apply
to ``/v1`` routes only (of the listed route classes, when ``routes`` is given), never to
``/healthz``, ``/readyz`` or ``/metrics``. Empty means no faults.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

__all__ = ["ROUTE_CLASSES", "FaultSpecError", "Faults", "parse_faults"]

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)(ms|s)$")
# A copy of canaryctl.metrics.routes.ROUTE_CLASSES (a unit test keeps the two equal).
ROUTE_CLASSES: tuple[str, ...] = (
    "wallet", "pools", "inventory", "leaderboard", "players", "matchmaking", "realtime", "ops",
)  # fmt: skip


class FaultSpecError(ValueError):
    """GAMEBACKEND_FAULTS cannot be parsed; the message says which item and why."""


@dataclass(frozen=True)
class Faults:
    latency_s: float = 0.0
    latency_p: float = 0.0
    error_p: float = 0.0
    routes: frozenset[str] = frozenset()  # empty: every route class

    @property
    def active(self) -> bool:
        return (self.latency_s > 0 and self.latency_p > 0) or self.error_p > 0

    def applies(self, route_class: str) -> bool:
        """Whether requests of ``route_class`` get these faults."""
        return not self.routes or route_class in self.routes

    def delay(self) -> float:
        """Seconds to sleep before this request (0 for most)."""
        if self.latency_p > 0 and random.random() < self.latency_p:
            return self.latency_s
        return 0.0

    def fail(self) -> bool:
        """Whether to answer this request with an injected 500."""
        return self.error_p > 0 and random.random() < self.error_p


def _probability(text: str, item: str) -> float:
    raw = text[:-1] if text.endswith("%") else text
    try:
        value = float(raw) / (100.0 if text.endswith("%") else 1.0)
    except ValueError:
        raise FaultSpecError(f"{item!r}: {text!r} is not a probability") from None
    if not 0.0 <= value <= 1.0:
        raise FaultSpecError(f"{item!r}: probability {text!r} is outside [0, 1]")
    return value


def _duration(text: str, item: str) -> float:
    match = _DURATION.match(text)
    if match is None:
        raise FaultSpecError(f"{item!r}: {text!r} is not a duration like 300ms or 1.5s")
    value = float(match.group(1))
    return value / 1000.0 if match.group(2) == "ms" else value


def parse_faults(spec: str) -> Faults:
    """Parse a GAMEBACKEND_FAULTS value; raise FaultSpecError on anything unexpected."""
    latency_s = latency_p = error_p = 0.0
    routes: frozenset[str] = frozenset()
    seen: set[str] = set()
    for item in (part.strip() for part in spec.split(",")):
        if not item:
            continue
        name, sep, value = item.partition("=")
        name = name.strip()
        if not sep or not value.strip():
            raise FaultSpecError(f"{item!r}: expected name=value")
        if name in seen:
            raise FaultSpecError(f"{item!r}: {name} given twice")
        seen.add(name)
        value = value.strip()
        if name == "latency":
            duration, _, prob = value.partition("@")
            latency_s = _duration(duration.strip(), item)
            latency_p = _probability(prob.strip(), item) if prob.strip() else 1.0
        elif name == "errors":
            error_p = _probability(value, item)
        elif name == "routes":
            routes = _routes(value, item)
        else:
            raise FaultSpecError(
                f"{item!r}: unknown fault {name!r} (known: latency, errors, routes)"
            )
    return Faults(latency_s=latency_s, latency_p=latency_p, error_p=error_p, routes=routes)


def _routes(text: str, item: str) -> frozenset[str]:
    names = frozenset(n.strip() for n in text.split("|") if n.strip())
    unknown = sorted(names - set(ROUTE_CLASSES))
    if unknown or not names:
        raise FaultSpecError(
            f"{item!r}: unknown route class {', '.join(map(repr, unknown)) or repr(text)} "
            f"(known: {', '.join(ROUTE_CLASSES)})"
        )
    return names
