"""Load profiles shape the offered rate; targets are loopback unless allowed."""

from __future__ import annotations

import itertools

import pytest

from canaryctl.errors import InvalidInput
from canaryctl.load.profiles import PROFILES, arrivals, connections
from canaryctl.load.runner import check_target


def _count(times: list[float], lo: float, hi: float) -> int:
    return sum(lo <= t < hi for t in times)


def test_steady_offers_the_rate_over_the_duration():
    times = list(arrivals(PROFILES["steady"], 200, 30, seed=1))
    assert 5600 <= len(times) <= 6400  # Poisson: 6000 ± 5 sd
    assert times == sorted(times) and times[-1] < 30


def test_ramp_ends_ten_times_higher_than_it_starts():
    times = list(arrivals(PROFILES["ramp"], 200, 100, seed=2))
    first, last = _count(times, 0, 10), _count(times, 90, 100)
    assert 5 < last / first < 15


def test_spike_is_the_peak_in_the_middle_fifth_only():
    times = list(arrivals(PROFILES["spike"], 300, 50, seed=3))
    before, during = _count(times, 0, 20), _count(times, 20, 30)
    assert 0.25 < (before / 20) / (during / 10) < 0.35


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080", "http://localhost:1/", "http://[::1]:80"])
def test_loopback_targets_are_accepted(url: str):
    assert check_target(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://10.1.2.3:80", "http://192.0.2.1"])
def test_remote_targets_are_refused_unless_allowed(url: str):
    with pytest.raises(InvalidInput, match=r"--target: .* not a loopback address"):
        check_target(url)
    assert check_target(url, allow_remote=True) == url


def test_a_target_that_is_not_a_url_is_refused():
    with pytest.raises(InvalidInput, match="--target: expected an http://"):
        check_target("127.0.0.1:8080")


# -- the launch-day curve -------------------------------------------------------------------


LAUNCH = PROFILES["launch"]


def _curve(lo: float, hi: float, n: int = 200) -> list[float]:
    return [LAUNCH.shape(lo + (hi - lo) * i / n) for i in range(n + 1)]


def test_launch_rises_then_plateaus_then_spikes_to_the_peak_then_declines():
    ramp, plateau = _curve(0.0, 0.25), _curve(0.26, 0.49)
    spike, decline = _curve(0.5, 0.6), _curve(0.65, 1.0)
    assert ramp == sorted(ramp) and ramp[0] < 0.1 and ramp[-1] > 0.55  # rises
    assert max(plateau) - min(plateau) < 1e-9 and 0.5 < plateau[0] < 0.7  # holds
    assert max(spike) == pytest.approx(1.0) and max(spike) > plateau[0] * 1.5  # the peak: --rps
    assert decline == sorted(decline, reverse=True) and decline[-1] < 0.15  # declines
    assert all(0.0 <= v <= 1.0 for v in _curve(0.0, 1.0, 2000))


def test_launch_is_continuous_no_step_between_phases():
    values = _curve(0.0, 1.0, 100_000)
    assert max(abs(b - a) for a, b in itertools.pairwise(values)) < 0.001


def test_launch_offers_about_half_of_a_flat_run_at_the_peak():
    mean = sum(_curve(0.0, 1.0, 10_000)) / 10_001
    assert 0.4 < mean < 0.5  # the integral is bounded: not a flat synthetic peak
    times = list(arrivals(LAUNCH, 200, 100, seed=4))
    expected = mean * 200 * 100
    assert abs(len(times) - expected) < 5 * expected**0.5  # Poisson: ± 5 sd
    spike, plateau = _count(times, 52.5, 57.5) / 5, _count(times, 30, 45) / 15
    assert 180 < spike < 220 and 105 < plateau < 135  # the peak rate, then 60% of it


def test_launch_scales_with_the_duration():
    short = [LAUNCH.fraction(t, 10) for t in (1, 3, 5.5, 9)]
    long = [LAUNCH.fraction(t * 360, 3600) for t in (1, 3, 5.5, 9)]
    assert short == pytest.approx(long)


@pytest.mark.parametrize("name", ["steady", "ramp", "spike", "launch"])
def test_players_online_follow_the_curve_never_above_the_cap(name: str):
    profile = PROFILES[name]
    online = [connections(profile, 20, t / 10, 10) for t in range(101)]
    assert max(online) == 20 and all(1 <= n <= 20 for n in online)
    for t in range(101):  # the share of the players is the share of the peak, rounded up
        assert online[t] >= 20 * profile.fraction(t / 10, 10) - 1e-9


def test_launch_players_rise_and_fall():
    online = [connections(LAUNCH, 100, t, 100) for t in range(100)]
    assert online[0] <= 5 and online[40] == 60 and online[55] == 100 and online[99] <= 11
