"""Recording a live metric source in the replay format (``canaryctl policy record``).

Every ``interval`` the recorder asks the source for the interval that just ended, for each
target (stable, canary), in total and per route class, and writes one line per answer
(``replay.format_line``), flushed at once so that an interrupted recording is still valid up to
its last line. Intervals are contiguous (each begins where the previous ended, on whole
seconds), so no request is counted twice or lost between lines. A window the source has no
data for is left out — the replay source then answers *no data* for it, as the live source did —
never written as zeros.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import IO

from canaryctl.errors import InvalidInput, MetricsError
from canaryctl.metrics.base import MetricSource, NoData, Target, WindowStats
from canaryctl.metrics.replay import format_line
from canaryctl.metrics.routes import ROUTE_CLASSES

__all__ = ["RecordSummary", "open_source", "parse_routes", "record_source"]

# Prometheus stamps a sample with its scrape's start time but stores it when the scrape ends:
# reading an interval before its last scrape is stored would move counts into no interval.
_LAG = {"embedded": 0.0, "prometheus": 2.0}


@dataclass
class RecordSummary:
    """What a recording holds: lines written, intervals, and why some windows had no data."""

    lines: int = 0
    intervals: int = 0
    duration_s: float = 0.0
    missing: int = 0
    reasons: dict[str, str] = field(default_factory=dict)  # series → first no-data reason

    def describe(self) -> str:
        text = f"recorded {self.lines} lines over {self.duration_s:g}s ({self.intervals} intervals)"
        if self.missing:
            text += f"; {self.missing} windows had no data and were left out"
        return text


def parse_routes(value: str) -> tuple[str, ...]:
    """``all`` → every route class, ``none`` → totals only, else a comma-separated list."""
    text = value.strip().lower()
    if text == "all":
        return ROUTE_CLASSES
    if text in ("none", ""):
        return ()
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in ROUTE_CLASSES]
    if unknown:
        raise InvalidInput(
            f"--routes: unknown route class {unknown[0]!r} "
            f"(known: {', '.join(ROUTE_CLASSES)}; or all, none)"
        )
    return names


def open_source(kind: str, *, url: str | None, sandbox: str) -> tuple[MetricSource, float]:
    """The source to record, through the metrics factory, and its default lag in seconds."""
    from canaryctl.metrics import create_source

    if kind not in _LAG:
        raise InvalidInput(f"--source: must be embedded or prometheus, got {kind!r}")
    if kind == "prometheus" and not url:
        raise InvalidInput("--url: required with --source prometheus")
    if kind == "embedded":
        from canaryctl.platforms.local.sandboxfile import no_sandbox, running_sandbox

        if running_sandbox(Path(sandbox)) is None:
            raise no_sandbox(sandbox)
    config: object = SimpleNamespace(type=kind, sandbox=sandbox)
    if kind == "prometheus":  # a Prometheus scraping the sandbox router's /metrics
        from canaryctl.config.prometheus import PrometheusMetricsConfig

        config = PrometheusMetricsConfig(url=str(url), preset="router")  # type: ignore[call-arg]
    return create_source(config, service="recording", base_dir=Path.cwd()), _LAG[kind]


def _window(
    source: MetricSource, target: Target, start: float, end: float, route: str | None
) -> WindowStats | NoData:
    try:
        return source.window(target, start, end, route)
    except MetricsError as exc:  # as the engine does: an unreachable source is missing data
        return NoData(str(exc), target, route)


def _offset(k: int, interval_s: float) -> float | int:
    t = k * interval_s
    return int(t) if float(t).is_integer() else round(t, 6)


def record_source(
    source: MetricSource,
    out: IO[str],
    *,
    duration_s: float,
    interval_s: float,
    routes: Sequence[str] = ROUTE_CLASSES,
    lag_s: float = 0.0,
    clock: Callable[[], float] = time.time,
    sleep: Callable[[float], None] = time.sleep,
    progress: IO[str] | None = None,
) -> RecordSummary:
    """Record ``duration_s`` of ``source`` to ``out``; returns what was written. Raises
    ``MetricsError`` when not a single window had data (with the source's reason)."""
    if interval_s <= 0 or duration_s < interval_s:
        raise InvalidInput("--duration: must be at least one --interval")
    start = float(math.ceil(clock()))  # whole seconds: the router counts whole seconds
    summary = RecordSummary()
    for k in range(1, math.floor(duration_s / interval_s + 1e-9) + 1):
        end = start + k * interval_s
        if (wait := end + lag_s - clock()) > 0:
            sleep(wait)
        for target in (Target.STABLE, Target.CANARY):
            for route in (None, *routes):
                stats = _window(source, target, end - interval_s, end, route)
                if isinstance(stats, NoData):
                    summary.missing += 1
                    series = f"{target}/{route or 'all'}"
                    if series not in summary.reasons and progress is not None:
                        progress.write(f"note: no data for {series}: {stats.reason}\n")
                    summary.reasons.setdefault(series, stats.reason)
                    continue
                out.write(format_line(_offset(k, interval_s), target, stats, route) + "\n")
                summary.lines += 1
        out.flush()
        summary.intervals, summary.duration_s = k, float(_offset(k, interval_s))
    if summary.lines == 0:
        first = next(iter(summary.reasons.values()), "no answer")
        raise MetricsError(f"recorded no data in {summary.duration_s:g}s: {first}")
    return summary
