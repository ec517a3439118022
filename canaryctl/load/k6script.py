"""canaryctl's traffic curves as a k6 script: the same profile, on k6's runners.

A profile (``canaryctl.load.profiles``) becomes the stages of k6's ``ramping-arrival-rate``
executor: k6 ramps linearly between stage targets, so the curve is cut into straight pieces
that stay within ``TOLERANCE`` of the peak, and a jump (the ``spike`` profile's edges) becomes a
stage of 0 ms. Arrival-rate executors are open-loop like canaryctl's generator: an iteration
that finds every VU busy is dropped (k6's ``dropped_iterations``), never delayed; ``maxVUs``
plays the part of ``--concurrency``.

Each iteration is one request of the reference backend's mix (``canaryctl.load.scenario``:
register, credits with the admin key, spends with an ``Idempotency-Key`` and some retries,
purchases, scores, boards, the ledger and the wallet, the jackpot pool). The script reads its
target and the admin key from the environment (``CANARYCTL_TARGET``, ``CANARYCTL_ADMIN_KEY``),
so the file holds no secret and runs as it is on k6's distributed runners::

    canaryctl load --profile launch --rps 300 --duration 10m --emit-k6 launch.js
    CANARYCTL_TARGET=https://staging.example.com k6 run launch.js
"""

from __future__ import annotations

import itertools
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources

from canaryctl.load.profiles import Profile
from canaryctl.load.scenario import ACTIONS, MIN_PLAYERS, Catalogue

__all__ = ["TOLERANCE", "K6Plan", "render", "stages"]

TOLERANCE = 0.005  # of the peak: how far the straight pieces may stray from the curve
SAMPLES = 2000  # points of the curve looked at
JUMP = 0.02  # of the peak between two neighbouring samples: a step, not a slope
TIME_UNIT_S = 60  # targets are whole iterations per minute: 1/60 of a request per second
REQUEST_TIMEOUT = "10s"  # as canaryctl's generator


@dataclass(frozen=True)
class K6Plan:
    """The rendered executor: the rate at the start and the stages, per minute."""

    start_rate: int
    stages: tuple[tuple[int, int], ...]  # (duration in ms, target per minute)
    pre_allocated_vus: int
    max_vus: int

    def iterations(self) -> float:
        """The iterations the stages offer (the area under the piecewise-linear rate)."""
        total, rate = 0.0, float(self.start_rate)
        for ms, target in self.stages:
            total += (rate + target) / 2 * ms / 1000 / TIME_UNIT_S
            rate = float(target)
        return total


def _jump_at(shape: Callable[[float], float], lo: float, hi: float) -> float:
    """Where the step between ``lo`` and ``hi`` is (bisection to a millionth of the run)."""
    y_lo = shape(lo)
    while hi - lo > 1e-6:
        mid = (lo + hi) / 2
        if abs(shape(mid) - y_lo) > JUMP / 2:
            hi = mid
        else:
            lo = mid
    return hi


def _points(shape: Callable[[float], float]) -> list[tuple[float, float]]:
    """Samples of the curve, with both sides of each step at the step's place."""
    xs = [i / SAMPLES for i in range(SAMPLES)] + [1.0 - 1e-9]
    out = [(0.0, shape(0.0))]
    for a, b in itertools.pairwise(xs):
        ya, yb = shape(a), shape(b)
        if abs(yb - ya) > JUMP:
            at = _jump_at(shape, a, b)
            out += [(at, out[-1][1] if out[-1][0] == at else shape(at - 1e-7)), (at, shape(at))]
        out.append((b, yb))
    return out


def _fits(points: list[tuple[float, float]], i: int, j: int) -> bool:
    (x0, y0), (x1, y1) = points[i], points[j]
    if x1 == x0:
        return j == i + 1
    slope = (y1 - y0) / (x1 - x0)
    return all(abs(y0 + slope * (x - x0) - y) <= TOLERANCE for x, y in points[i + 1 : j])


def _knots(points: list[tuple[float, float]]) -> list[tuple[float, float]]:
    """The fewest straight pieces (greedy) within ``TOLERANCE`` of every sample."""
    knots, i = [points[0]], 0
    while i < len(points) - 1:
        j = i + 1
        while j + 1 < len(points) and points[j + 1][0] > points[j][0] and _fits(points, i, j + 1):
            j += 1
        knots.append(points[j])
        i = j
    return knots


def stages(profile: Profile, peak_rps: float, duration_s: float, max_vus: int = 64) -> K6Plan:
    """The ``ramping-arrival-rate`` executor of ``profile`` at ``peak_rps`` for ``duration_s``."""
    per_minute = peak_rps * TIME_UNIT_S
    knots = _knots(_points(profile.shape))
    total_ms = round(duration_s * 1000)
    out: list[tuple[int, int]] = []
    done_ms = 0
    for x, y in knots[1:]:
        end_ms = total_ms if x >= 1.0 - 1e-6 else round(x * total_ms)
        out.append((end_ms - done_ms, round(y * per_minute)))
        done_ms = end_ms
    pre = min(max_vus, max(5, math.ceil(peak_rps * 0.1)))  # 100 ms of the peak in flight
    return K6Plan(round(knots[0][1] * per_minute), tuple(out), pre, max_vus)


def _ms(ms: int) -> str:
    return f"{ms}ms"


def render(
    profile: Profile,
    peak_rps: float,
    duration_s: float,
    max_vus: int = 64,
    target: str = "http://127.0.0.1:8080",
) -> str:
    """A complete k6 script: ``options`` with the profile's stages, and the game mix."""
    plan = stages(profile, peak_rps, duration_s, max_vus)
    scenario = {
        "executor": "ramping-arrival-rate",
        "startRate": plan.start_rate,
        "timeUnit": f"{TIME_UNIT_S}s",
        "preAllocatedVUs": plan.pre_allocated_vus,
        "maxVUs": plan.max_vus,
        "stages": [{"duration": _ms(ms), "target": t} for ms, t in plan.stages],
        "gracefulStop": REQUEST_TIMEOUT,
    }
    options = {
        "scenarios": {"canaryctl": scenario},
        "summaryTrendStats": ["avg", "min", "med", "max", "p(90)", "p(95)", "p(99)"],
    }
    cat = Catalogue()
    header = (
        f"// canaryctl load profile {profile.name!r} ({profile.description}): peak "
        f"{peak_rps:g} requests/s for {duration_s:g}s,\n"
        f"// about {plan.iterations():.0f} requests. Rendered by canaryctl "
        "(canaryctl load --emit-k6); run: CANARYCTL_TARGET=URL k6 run FILE\n"
    )
    constants = {
        "DEFAULT_TARGET": target,
        "ACTIONS": ACTIONS,
        "MIN_PLAYERS": MIN_PLAYERS,
        "CURRENCY": cat.currency,
        "ITEMS": list(cat.items),
        "BOARDS": list(cat.boards),
        "POOLS": list(cat.pools),
        "TIMEOUT": REQUEST_TIMEOUT,
    }
    lines = [f"const {k} = {json.dumps(v)};" for k, v in constants.items()]
    mix = resources.files("canaryctl.load").joinpath("k6mix.js").read_text()
    head, marker, tail = mix.partition("// {{canaryctl: constants and options}}\n")
    assert marker, "k6mix.js lost its marker"
    settings = "\n".join(lines) + f"\nexport const options = {json.dumps(options, indent=2)};\n"
    return header + head + settings + tail
