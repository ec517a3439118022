"""canaryctl's profiles rendered as k6 ramping-arrival-rate stages: the same curve, the same
number of requests, jumps kept as jumps; the script holds no secret."""

from __future__ import annotations

import json
import random
import re

import pytest

from canaryctl.load.k6script import TIME_UNIT_S, TOLERANCE, render, stages
from canaryctl.load.profiles import PROFILES


def _rate_at(plan, t_ms: float) -> float:
    """The rendered rate (per minute) at ``t_ms``, as k6 ramps it: linear inside a stage."""
    start, rate = 0.0, float(plan.start_rate)
    for ms, target in plan.stages:
        if t_ms < start + ms:
            return rate + (target - rate) * (t_ms - start) / ms
        start, rate = start + ms, float(target)
    return rate


@pytest.mark.parametrize("name", list(PROFILES))
def test_the_stages_follow_the_profile_within_the_tolerance(name):
    profile, peak, duration = PROFILES[name], 300.0, 600.0
    plan = stages(profile, peak, duration)
    assert sum(ms for ms, _ in plan.stages) == duration * 1000
    rng = random.Random(7)
    per_minute = peak * TIME_UNIT_S
    for _ in range(2000):
        x = rng.random()
        if name == "spike" and min(abs(x - 0.4), abs(x - 0.6)) < 1e-5:
            continue  # at the step itself either side is right
        want = profile.shape(x) * per_minute
        got = _rate_at(plan, x * duration * 1000)
        assert abs(got - want) <= (TOLERANCE * 1.05) * per_minute + 1, (x, got, want)


@pytest.mark.parametrize("name", list(PROFILES))
def test_the_stages_offer_the_profiles_requests(name):
    profile, peak, duration = PROFILES[name], 120.0, 300.0
    n = 200_000
    area = sum(profile.shape((i + 0.5) / n) for i in range(n)) / n * peak * duration
    assert stages(profile, peak, duration).iterations() == pytest.approx(area, rel=0.002)


def test_the_spike_jumps_in_zero_time_and_the_launch_curve_has_few_stages():
    spike = stages(PROFILES["spike"], 100, 50)
    assert spike.start_rate == 30 * 60
    assert spike.stages == ((20_000, 1800), (0, 6000), (10_000, 6000), (0, 1800), (20_000, 1800))
    launch = stages(PROFILES["launch"], 100, 600)
    assert launch.start_rate == 5 * 60 and launch.stages[-1][1] == 10 * 60
    assert 8 <= len(launch.stages) <= 40
    assert max(t for _, t in launch.stages) == 100 * 60  # the spike reaches the peak


def test_the_script_is_the_executor_and_the_mix_with_no_secret():
    text = render(PROFILES["launch"], 300, 10, max_vus=64, target="http://127.0.0.1:8080")
    options = json.loads(re.search(r"export const options = (\{.*?\n\});", text, re.S)[1])
    scenario = options["scenarios"]["canaryctl"]
    assert scenario["executor"] == "ramping-arrival-rate" and scenario["timeUnit"] == "60s"
    assert scenario["maxVUs"] == 64 and scenario["startRate"] == 900
    assert [s["target"] for s in scenario["stages"]] == [
        t for _, t in stages(PROFILES["launch"], 300, 10).stages
    ]
    assert "__ENV.CANARYCTL_TARGET" in text and "__ENV.CANARYCTL_ADMIN_KEY" in text
    assert "{{canaryctl" not in text  # the marker was filled
    for path in ("/v1/players", "/v1/wallet/transactions", "/v1/store/purchase", "/v1/wallet"):
        assert path in text
