"""Builders of window statistics for the judges' tests (shared through fixtures)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from canaryctl.metrics.base import WindowStats
from canaryctl.metrics.routes import LATENCY_BUCKETS

WindowMaker = Callable[..., WindowStats]


def _window(
    requests: int,
    errors: int = 0,
    *,
    latency: float = 0.04,
    slow: float = 0.0,
    slow_latency: float = 1.0,
    seconds: float = 60.0,
) -> WindowStats:
    """``requests`` over ``seconds`` (cumulative since t=0): a share ``slow`` at
    ``slow_latency``, the rest at ``latency``; ``errors`` of them failed."""
    k = round(requests * slow)
    latencies = [latency] * (requests - k) + [slow_latency] * k
    return WindowStats.from_latencies(latencies, errors, LATENCY_BUCKETS, start=0.0, end=seconds)


def _spread(
    requests: int, errors: int = 0, *, scale: float = 1.0, shift_share: float = 0.0,
    seconds: float = 60.0,
) -> WindowStats:  # fmt: skip
    """A realistic spread: latencies at evenly spaced quantiles of a lognormal (median 60 ms),
    times ``scale``; a share ``shift_share`` of them 1 s slower (the median stays put)."""
    import math
    from statistics import NormalDist

    z = NormalDist()
    lat = [0.06 * math.exp(0.45 * z.inv_cdf((i + 0.5) / requests)) * scale for i in range(requests)]
    step = round(1 / shift_share) if shift_share else 0
    if step:
        lat = [x + 1.0 if i % step == step // 2 else x for i, x in enumerate(lat)]
    return WindowStats.from_latencies(lat, errors, LATENCY_BUCKETS, start=0.0, end=seconds)


@pytest.fixture
def window() -> WindowMaker:
    return _window


@pytest.fixture
def spread() -> WindowMaker:
    return _spread
