"""Load profiles shape the offered rate; targets are loopback unless allowed."""

from __future__ import annotations

import pytest

from canaryctl.errors import InvalidInput
from canaryctl.load.profiles import PROFILES, arrivals
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
