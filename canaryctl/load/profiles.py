"""Traffic curves: the offered request rate as a function of time.

A profile maps the elapsed fraction of the run (0..1) to a fraction of the peak rate. Arrivals
are open-loop (a Poisson process at the profile's rate): a slow backend does not slow the load
down, as it would not slow down real players. The same shape drives the number of WebSocket
players online (``connections``), so connections rise and fall with the requests.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["PROFILES", "LaunchCurve", "Profile", "arrivals", "connections"]


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    shape: Callable[[float], float]  # elapsed fraction 0..1 -> fraction of the peak rate

    def fraction(self, elapsed: float, duration: float) -> float:
        """The shape at ``elapsed`` seconds of a run of ``duration`` seconds."""
        frac = min(max(elapsed / duration, 0.0), 1.0) if duration > 0 else 1.0
        return self.shape(frac)

    def rate(self, peak_rps: float, elapsed: float, duration: float) -> float:
        return peak_rps * self.fraction(elapsed, duration)


def _ramp(x: float) -> float:
    return 0.1 + 0.9 * x


def _spike(x: float) -> float:
    return 1.0 if 0.4 <= x < 0.6 else 0.3


def _smooth(u: float) -> float:
    """0 → 1 with flat ends (smoothstep): no corner where a phase begins or ends."""
    u = min(max(u, 0.0), 1.0)
    return u * u * (3.0 - 2.0 * u)


@dataclass(frozen=True)
class LaunchCurve:
    """A launch day, in fractions of the run (x) and of the peak rate.

    The servers open and word spreads (ramp from ``start`` to ``plateau`` until ``ramp_end``),
    the crowd settles (plateau), something draws everyone at once — a streamer goes live, the
    trailer airs — (a spike to the peak from ``spike_at`` for ``spike_len``, with edges of
    ``spike_edge``), the crowd settles again, then the evening (decline from ``decline_at`` to
    ``end``). About 47% of a flat run at the peak: a realistic day, not a synthetic wall.
    """

    start: float = 0.05
    plateau: float = 0.6
    ramp_end: float = 0.25
    spike_at: float = 0.5
    spike_len: float = 0.1
    spike_edge: float = 0.025
    decline_at: float = 0.65
    end: float = 0.1

    def __call__(self, x: float) -> float:
        if x < self.ramp_end:
            return self.start + (self.plateau - self.start) * _smooth(x / self.ramp_end)
        if self.spike_at <= x < self.spike_at + self.spike_len:
            edge = min(x - self.spike_at, self.spike_at + self.spike_len - x) / self.spike_edge
            return self.plateau + (1.0 - self.plateau) * min(1.0, edge)
        if x < self.decline_at:
            return self.plateau
        u = (x - self.decline_at) / (1.0 - self.decline_at)
        return self.plateau + (self.end - self.plateau) * _smooth(u)


PROFILES: dict[str, Profile] = {
    "steady": Profile("steady", "the peak rate all along", lambda x: 1.0),
    "ramp": Profile("ramp", "linear from 10% of the peak to the peak", _ramp),
    "spike": Profile("spike", "30% of the peak, the peak in the middle fifth", _spike),
    "launch": Profile(
        "launch", "launch day: ramp, plateau at 60%, spike to the peak, decline", LaunchCurve()
    ),
}


def arrivals(
    profile: Profile, peak_rps: float, duration: float, seed: int | None = None
) -> Iterator[float]:
    """Offsets (seconds from the start) of the arrivals of a non-homogeneous Poisson process,
    by thinning: candidates at the peak rate, each kept with probability rate(t)/peak."""
    rng = random.Random(seed)
    t = 0.0
    if peak_rps <= 0:
        return
    while True:
        t += rng.expovariate(peak_rps)
        if t >= duration:
            return
        if rng.random() * peak_rps <= profile.rate(peak_rps, t, duration):
            yield t


def connections(profile: Profile, players: int, elapsed: float, duration: float) -> int:
    """How many of ``players`` WebSocket players are online at ``elapsed``: the curve's
    fraction of them, rounded up so that a curve above zero keeps someone online."""
    want = players * profile.fraction(elapsed, duration)
    return min(players, max(0, math.ceil(want - 1e-9)))
