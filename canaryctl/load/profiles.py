"""Traffic curves: the offered request rate as a function of time.

A profile maps the elapsed fraction of the run (0..1) to a fraction of the peak rate. Arrivals
are open-loop (a Poisson process at the profile's rate): a slow backend does not slow the load
down, as it would not slow down real players.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

__all__ = ["PROFILES", "Profile", "arrivals"]


@dataclass(frozen=True)
class Profile:
    name: str
    description: str
    shape: Callable[[float], float]  # elapsed fraction 0..1 -> fraction of the peak rate

    def rate(self, peak_rps: float, elapsed: float, duration: float) -> float:
        frac = min(max(elapsed / duration, 0.0), 1.0) if duration > 0 else 1.0
        return peak_rps * self.shape(frac)


def _ramp(x: float) -> float:
    return 0.1 + 0.9 * x


def _spike(x: float) -> float:
    return 1.0 if 0.4 <= x < 0.6 else 0.3


PROFILES: dict[str, Profile] = {
    "steady": Profile("steady", "the peak rate all along", lambda x: 1.0),
    "ramp": Profile("ramp", "linear from 10% of the peak to the peak", _ramp),
    "spike": Profile("spike", "30% of the peak, the peak in the middle fifth", _spike),
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
