"""Window statistics replayed from a recording (JSON lines), for tests and policy backtests.

Each line is the counts of one interval of one target (docs/replay-format.md):

    {"t": 30, "target": "canary", "route_class": "wallet", "requests": 412, "errors": 1,
     "buckets": {"0.05": 300, "0.1": 390, "+Inf": 412}}

``t`` is the end of the interval in seconds after the canary received traffic; buckets are
cumulative (Prometheus ``le``), ``+Inf`` equals ``requests``. Every line has the same bounds.

Time: ``window(target, start, end)`` sums the intervals whose ``t`` lies in
``(start - t0, end - t0]``, where ``t0`` is the moment the canary received traffic — set by
``anchor(t0)``, or else the ``start`` of the first ``window`` call (the engine's first analysis
window begins when the canary starts receiving traffic).

Speed: ``clock`` is a ``ReplayClock``. At ``speed`` 1 it is the wall clock; at ``speed`` k it
runs k times faster (``sleep(s)`` sleeps s/k); at ``speed`` ``"max"`` it is virtual — ``sleep``
returns at once and moves the clock on — so a backtest that drives the engine with this clock
replays a 30-minute recording as fast as the CPU allows.
"""

from __future__ import annotations

import itertools
import json
import math
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canaryctl.errors import ConfigError, InvalidInput
from canaryctl.metrics.base import NoData, SourceCapabilities, Target, WindowStats

__all__ = ["Interval", "ReplayClock", "ReplaySource", "format_line", "parse_lines"]

_FIELDS = {"t", "target", "route_class", "requests", "errors", "buckets"}


@dataclass(frozen=True)
class Interval:
    t: float
    target: Target
    route_class: str | None
    stats: WindowStats


class ReplayClock:
    """``time()``/``sleep()`` at ``speed`` times real time (``math.inf``: virtual time)."""

    def __init__(
        self,
        speed: float = 1.0,
        *,
        start: float | None = None,
        wall: Callable[[], float] = time.time,
        wall_sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if not speed > 0:
            raise InvalidInput(f"metrics.speed: must be positive or 'max', got {speed}")
        self.speed = speed
        self._wall, self._wall_sleep = wall, wall_sleep
        self._wall_origin = wall()
        self._origin = self._wall_origin if start is None else start
        self._virtual = 0.0

    def time(self) -> float:
        if math.isinf(self.speed):
            return self._origin + self._virtual
        return self._origin + (self._wall() - self._wall_origin) * self.speed

    __call__ = time

    def sleep(self, seconds: float) -> None:
        if seconds <= 0:
            return
        if math.isinf(self.speed):
            self._virtual += seconds
        else:
            self._wall_sleep(seconds / self.speed)


def _speed(value: Any) -> float:
    if value is None:
        return 1.0
    if isinstance(value, str) and value.strip().lower() == "max":
        return math.inf
    try:
        return float(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"metrics.speed: a number or 'max', got {value!r}") from None


def _bound(key: str, where: Callable[[str, str], ConfigError]) -> float:
    if key == "+Inf":
        return math.inf
    try:
        bound = float(key)
    except ValueError:
        raise where("buckets", f"bucket bound {key!r} is not a number or '+Inf'") from None
    if not bound > 0 or math.isinf(bound):
        raise where("buckets", f"bucket bound {key!r} must be a positive number")
    return bound


def _count(
    obj: dict[str, Any], name: str, where: Callable[[str, str], ConfigError], prefix: str = ""
) -> int:
    value = obj.get(name)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise where(prefix + name, f"expected a non-negative integer, got {value!r}")
    return value


def _interval(obj: Any, where: Callable[[str, str], ConfigError]) -> Interval:
    if not isinstance(obj, dict):
        raise where("", "expected a JSON object")
    unknown = sorted(set(obj) - _FIELDS)
    if unknown:
        raise where(unknown[0], f"unknown field (known: {', '.join(sorted(_FIELDS))})")
    t = obj.get("t")
    if isinstance(t, bool) or not isinstance(t, int | float) or not 0 <= t < math.inf:
        raise where("t", f"expected seconds >= 0, got {t!r}")
    if obj.get("target") not in ("stable", "canary"):
        raise where("target", f"expected 'stable' or 'canary', got {obj.get('target')!r}")
    route = obj.get("route_class")
    if route is not None and (not isinstance(route, str) or not route):
        raise where("route_class", f"expected a route class name, got {route!r}")
    requests, errors = _count(obj, "requests", where), _count(obj, "errors", where)
    if errors > requests:
        raise where("errors", f"{errors} errors but only {requests} requests")
    raw = obj.get("buckets")
    if not isinstance(raw, dict) or "+Inf" not in raw:
        raise where("buckets", "expected an object of cumulative counts with a '+Inf' bucket")
    buckets = sorted((_bound(k, where), _count(raw, k, where, "buckets.")) for k in raw)
    if buckets[-1][1] != requests:
        raise where("buckets", f"'+Inf' is {buckets[-1][1]}, it must equal requests ({requests})")
    for (b1, c1), (b2, c2) in itertools.pairwise(buckets):
        if c2 < c1:
            raise where("buckets", f"not cumulative: {c1} at {b1:g} but {c2} at {b2:g}")
    stats = WindowStats(requests=requests, errors=errors, buckets=tuple(buckets))
    return Interval(float(t), Target(obj["target"]), route, stats)


def parse_lines(lines: Iterable[str], path: str) -> list[Interval]:
    """Validate a recording; a problem raises ``ConfigError`` naming ``path:line``."""
    intervals: list[Interval] = []
    seen: dict[tuple[float, Target, str | None], int] = {}
    first_bounds: tuple[float, ...] | None = None
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue

        def where(field: str, problem: str, number: int = number) -> ConfigError:
            return ConfigError(path, number, field or None, problem)

        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise where("", f"not valid JSON: {exc.msg}") from None
        interval = _interval(obj, where)
        bounds = tuple(b for b, _ in interval.stats.buckets)
        if first_bounds is None:
            first_bounds = bounds
        elif bounds != first_bounds:
            raise where("buckets", "bucket bounds differ from the first line's")
        key = (interval.t, interval.target, interval.route_class)
        if key in seen:
            raise where(
                "t", f"a second interval for the same t, target and route (line {seen[key]})"
            )
        seen[key] = number
        intervals.append(interval)
    if not intervals:
        raise ConfigError(path, None, None, "the recording holds no intervals")
    return intervals


def format_line(
    t: float, target: Target | str, stats: WindowStats, route_class: str | None = None
) -> str:
    """One recording line for ``stats`` (to record a live source for later backtests)."""
    obj: dict[str, Any] = {"t": t, "target": str(target)}
    if route_class is not None:
        obj["route_class"] = route_class
    obj.update(requests=stats.requests, errors=stats.errors)
    obj["buckets"] = {("+Inf" if math.isinf(b) else f"{b:g}"): c for b, c in stats.buckets}
    return json.dumps(obj, separators=(",", ":"))


class ReplaySource:
    """The ``replay`` metric source."""

    name = "replay"

    def __init__(self, intervals: list[Interval], *, path: str = "<memory>", speed: float = 1.0):
        self.path = path
        self.clock = ReplayClock(speed)
        self._intervals = sorted(intervals, key=lambda i: i.t)
        self._t0: float | None = None

    @classmethod
    def load(cls, path: str | Path, *, speed: float = 1.0) -> ReplaySource:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except FileNotFoundError:
            raise InvalidInput(f"metrics.path: {path}: no such file") from None
        except OSError as exc:
            raise InvalidInput(f"metrics.path: {path}: {exc.strerror}") from None
        return cls(parse_lines(text.splitlines(), str(path)), path=str(path), speed=speed)

    @classmethod
    def capabilities(cls, config: Any) -> SourceCapabilities:
        # A recording may hold lines per route class; one that lacks a class answers NoData.
        return SourceCapabilities(route_classes=True)

    @classmethod
    def from_config(
        cls, config: Any, *, service: str, base_dir: Path, platform: Any = None
    ) -> ReplaySource:
        """Config: ``path`` (relative to the pipeline file's directory) and ``speed``
        (1 = real time, a factor, or ``"max"``)."""
        path = Path(str(getattr(config, "path", "") or ""))
        if not str(path) or str(path) == ".":
            raise InvalidInput("metrics.path: required for the replay source")
        return cls.load(
            path if path.is_absolute() else base_dir / path,
            speed=_speed(getattr(config, "speed", None)),
        )

    @property
    def t0(self) -> float | None:
        return self._t0

    @property
    def duration(self) -> float:
        """The ``t`` of the last recorded interval."""
        return self._intervals[-1].t if self._intervals else 0.0

    def anchor(self, t0: float) -> None:
        """Declare when the canary received traffic (offset 0 of the recording)."""
        self._t0 = t0

    def window(
        self, target: Target, start: float, end: float, route_class: str | None = None
    ) -> WindowStats | NoData:
        if self._t0 is None:
            self._t0 = start
        lo, hi = start - self._t0, end - self._t0
        pool = self._pool(Target(target), route_class)
        if not pool:
            what = f"{target}/{route_class}" if route_class else str(target)
            return NoData(f"{self.path} has no intervals for {what}", target, route_class)
        chosen = [i.stats for i in pool if lo < i.t <= hi]
        if not chosen:
            if lo >= pool[-1].t:
                reason = f"{self.path}: the recording ended at t={pool[-1].t:g}s"
            else:
                reason = f"{self.path}: no interval ends in ({lo:g}s, {hi:g}s]"
            return NoData(reason, target, route_class)
        total = chosen[0]
        for stats in chosen[1:]:
            total = total + stats
        return WindowStats(total.requests, total.errors, total.buckets, start=start, end=end)

    def _pool(self, target: Target, route_class: str | None) -> list[Interval]:
        mine = [i for i in self._intervals if i.target == target]
        if route_class is not None:
            return [i for i in mine if i.route_class == route_class]
        overall = [i for i in mine if i.route_class is None]
        # Lines without a route class are the totals; otherwise the route classes add up.
        return overall or mine

    def close(self) -> None:
        pass
