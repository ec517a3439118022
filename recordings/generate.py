"""Writes the shipped recordings (replay format, docs/replay-format.md) from a seeded simulator.

    .venv/bin/python recordings/generate.py             # rewrite recordings/*.jsonl
    .venv/bin/python recordings/generate.py --check     # exit 1 if a shipped file differs

Traffic: Poisson arrivals (200 requests/s, 10% to the canary: 20 canary requests/s), split over
the reference backend's route classes, each request failing with the version's error rate and
taking a latency from a lognormal body (median 60 ms x the route class's scale, sigma 0.45) with
a slow lognormal tail (1% of requests, median 250 ms), counted into the shared histogram
buckets (``LATENCY_BUCKETS``). One line per second per target: the totals, and the route
classes the shipped policy names (wallet, inventory, leaderboard, matchmaking). Every scenario
has its own seed, so the files are reproducible byte for byte (numpy's PCG64 streams are
stable across numpy versions).
"""

from __future__ import annotations

import argparse
import math
import sys
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT.parent))

from canaryctl.metrics.base import WindowStats  # noqa: E402
from canaryctl.metrics.replay import format_line  # noqa: E402
from canaryctl.metrics.routes import LATENCY_BUCKETS  # noqa: E402

DURATION = 180  # seconds: the example policies' windows are 2 and 3 minutes
BOUNDS = (*LATENCY_BUCKETS, math.inf)
# Share of requests and latency scale per route class (the mix of canaryctl's load generator).
MIX: dict[str, tuple[float, float]] = {
    "wallet": (0.35, 1.0),
    "players": (0.15, 0.7),
    "leaderboard": (0.15, 0.8),
    "inventory": (0.10, 1.1),
    "matchmaking": (0.10, 1.2),
    "pools": (0.05, 1.0),
    "realtime": (0.05, 0.5),
    "ops": (0.05, 0.1),
}
RECORDED = ("wallet", "inventory", "leaderboard", "matchmaking")


@dataclass(frozen=True)
class Latency:
    """Lognormal body and slow tail; ``scale`` multiplies every request, ``shift_share`` of
    requests get ``shift`` seconds more."""

    median: float = 0.060
    sigma: float = 0.45
    tail: float = 0.01
    tail_median: float = 0.25
    tail_sigma: float = 0.5
    scale: float = 1.0
    shift_share: float = 0.0
    shift: float = 1.0

    def _cdf(self, x: float, route_scale: float) -> float:
        if x <= 0:
            return 0.0
        y = x / (self.scale * route_scale)
        body = 0.5 * (1 + math.erf(math.log(y / self.median) / (self.sigma * math.sqrt(2))))
        slow = 0.5 * (1 + math.erf(math.log(y / self.tail_median) / (self.tail_sigma * 2**0.5)))
        return (1 - self.tail) * body + self.tail * slow

    def bucket_probs(self, route_scale: float = 1.0) -> np.ndarray:
        cdf = [
            (1 - self.shift_share) * self._cdf(b, route_scale)
            + self.shift_share * self._cdf(b - self.shift, route_scale)
            for b in LATENCY_BUCKETS
        ]
        return np.clip(np.diff([0.0, *cdf, 1.0]), 0.0, None)


@dataclass(frozen=True)
class Scenario:
    name: str
    seed: int
    rps: float = 200.0
    share: float = 0.1
    stable_errors: float = 0.001
    canary_errors: float = 0.001
    canary_latency: Latency = field(default_factory=Latency)


SCENARIOS = (
    Scenario("good", 101),
    Scenario("error-regression", 102, canary_errors=0.02),
    Scenario("latency-regression", 103, canary_latency=Latency(scale=1.5)),
    Scenario("tail-regression", 104, canary_latency=Latency(shift_share=0.03)),
    Scenario("low-traffic", 105, rps=20.0),
)


def _second(rng: np.random.Generator, n: int, p_err: float, lat: Latency) -> dict[str, WindowStats]:
    """One second of one target: stats per route class (all classes, not only recorded)."""
    per_route = rng.multinomial(n, [share for share, _ in MIX.values()])
    out = {}
    for (route, (_, scale)), count in zip(MIX.items(), per_route, strict=True):
        hist = rng.multinomial(int(count), lat.bucket_probs(scale))
        cumulative = np.cumsum(hist)
        buckets = tuple((b, int(c)) for b, c in zip(BOUNDS, cumulative, strict=True))
        errors = int(rng.binomial(int(count), p_err))
        out[route] = WindowStats(int(count), errors, buckets)
    return out


def _total(stats: dict[str, WindowStats]) -> WindowStats:
    values = list(stats.values())
    total = values[0]
    for s in values[1:]:
        total = total + s
    return total


def render(s: Scenario) -> str:
    rng = np.random.default_rng(s.seed)
    lines = []
    for t in range(1, DURATION + 1):
        n = int(rng.poisson(s.rps))
        canary = int(rng.binomial(n, s.share))
        for target, count, p_err, lat in (
            ("stable", n - canary, s.stable_errors, Latency()),
            ("canary", canary, s.canary_errors, s.canary_latency),
        ):
            routes = _second(rng, count, p_err, lat)
            lines.append(format_line(t, target, _total(routes)))
            lines += [format_line(t, target, routes[r], r) for r in RECORDED]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT, help="directory (default: here)")
    parser.add_argument("--check", action="store_true", help="compare instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for s in SCENARIOS:
        path = args.out / f"{s.name}.jsonl"
        text = render(s)
        if args.check:
            if not path.exists() or path.read_text() != text:
                stale.append(str(path))
        else:
            path.write_text(text)
            print(f"wrote {path} ({text.count(chr(10))} lines)")
    if stale:
        print("out of date (run recordings/generate.py):", *stale, sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
