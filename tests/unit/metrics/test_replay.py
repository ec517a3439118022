"""The replay source: the recording format, its validation messages, window arithmetic and the
replay clock."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from canaryctl.errors import ConfigError, InvalidInput
from canaryctl.metrics.base import NoData, Target, WindowStats
from canaryctl.metrics.replay import ReplayClock, ReplaySource, format_line

T0 = 1_800_000_000.0


def line(t: float, target: str = "canary", requests: int = 100, errors: int = 1, **kw: Any) -> str:
    slow = kw.pop("slow", 10)
    obj: dict[str, Any] = {
        "t": t,
        "target": target,
        "requests": requests,
        "errors": errors,
        "buckets": {"0.05": requests - slow - 5, "0.25": requests - slow, "+Inf": requests},
    }
    obj.update(kw)
    return json.dumps(obj)


def write(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_window_sums_the_intervals_ending_inside_it(tmp_path: Path) -> None:
    path = write(tmp_path, [line(t) for t in (10, 20, 30, 40)] + [line(10, "stable", 900, 0)])
    source = ReplaySource.load(path)
    source.anchor(T0)

    stats = source.window(Target.CANARY, T0 + 10, T0 + 30)  # (10, 30] → t=20 and t=30
    assert isinstance(stats, WindowStats)
    assert (stats.requests, stats.errors) == (200, 2)
    assert stats.buckets == ((0.05, 170), (0.25, 180), (math.inf, 200))
    assert (stats.start, stats.end) == (T0 + 10, T0 + 30)
    stable = source.window(Target.STABLE, T0, T0 + 10)
    assert isinstance(stable, WindowStats) and stable.requests == 900


def test_without_an_anchor_the_first_window_starts_the_recording(tmp_path: Path) -> None:
    source = ReplaySource.load(write(tmp_path, [line(t) for t in (10, 20, 30)]))
    first = source.window(Target.CANARY, T0 + 5, T0 + 15)  # t0 = T0 + 5: (0, 10] → t=10
    assert isinstance(first, WindowStats) and first.requests == 100
    assert source.t0 == T0 + 5
    later = source.window(Target.CANARY, T0 + 5, T0 + 35)  # (0, 30]: all three
    assert isinstance(later, WindowStats) and later.requests == 300


def test_no_intervals_is_no_data_with_the_reason(tmp_path: Path) -> None:
    source = ReplaySource.load(write(tmp_path, [line(10), line(20)]))
    source.anchor(T0)
    ended = source.window(Target.CANARY, T0 + 20, T0 + 30)
    assert isinstance(ended, NoData) and "the recording ended at t=20s" in ended.reason
    gap = source.window(Target.CANARY, T0 + 11, T0 + 19)
    assert isinstance(gap, NoData) and "no interval ends in (11s, 19s]" in gap.reason
    absent = source.window(Target.STABLE, T0, T0 + 30)
    assert isinstance(absent, NoData) and absent.reason.endswith("has no intervals for stable")


def test_recorded_zero_traffic_is_zero_not_no_data(tmp_path: Path) -> None:
    source = ReplaySource.load(
        write(tmp_path, [line(10, requests=0, errors=0, buckets={"0.05": 0, "0.25": 0, "+Inf": 0})])
    )
    stats = source.window(Target.CANARY, T0, T0 + 10)
    assert isinstance(stats, WindowStats) and stats.requests == 0


def test_route_classes_add_up_unless_totals_are_recorded(tmp_path: Path) -> None:
    by_route = [line(10, route_class="wallet"), line(10, route_class="leaderboard", requests=50)]
    source = ReplaySource.load(write(tmp_path, by_route))
    source.anchor(T0)
    wallet = source.window(Target.CANARY, T0, T0 + 10, route_class="wallet")
    overall = source.window(Target.CANARY, T0, T0 + 10)
    assert isinstance(wallet, WindowStats) and wallet.requests == 100
    assert isinstance(overall, WindowStats) and overall.requests == 150
    missing = source.window(Target.CANARY, T0, T0 + 10, route_class="realtime")
    assert isinstance(missing, NoData) and "no intervals for canary/realtime" in missing.reason

    with_total = ReplaySource.load(write(tmp_path, [*by_route, line(10, requests=1000)]))
    total = with_total.window(Target.CANARY, T0, T0 + 10)
    assert isinstance(total, WindowStats) and total.requests == 1000  # not 1,150


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("{not json", "not valid JSON: Expecting property name"),
        ('["a list"]', "expected a JSON object"),
        (line(20, target="blue"), "target: expected 'stable' or 'canary'"),
        (line(-1), "t: expected seconds >= 0, got -1"),
        (line(20, errors=101), "errors: 101 errors but only 100 requests"),
        (line(20, requests=2.5), "requests: expected a non-negative integer"),
        (line(20, colour="red"), "colour: unknown field"),
        (
            line(20, buckets={"fast": 10, "+Inf": 100}),
            "buckets: bucket bound 'fast' is not a number or '+Inf'",
        ),
        (
            line(20, buckets={"0.05": -1, "+Inf": 100}),
            "buckets.0.05: expected a non-negative integer, got -1",
        ),
        (
            line(20, buckets={"0.05": 10, "+Inf": 99}),
            "buckets: '+Inf' is 99, it must equal requests (100)",
        ),
        (
            line(20, buckets={"0.05": 60, "0.25": 50, "+Inf": 100}),
            "buckets: not cumulative: 60 at 0.05 but 50 at 0.25",
        ),
        (
            line(20, buckets={"0.1": 60, "+Inf": 100}),
            "buckets: bucket bounds differ from the first line's",
        ),
        (line(10), "t: a second interval for the same t, target and route (line 1)"),
    ],
)
def test_invalid_lines_are_named_by_file_and_line(tmp_path: Path, bad: str, message: str) -> None:
    path = write(tmp_path, [line(10), bad])
    with pytest.raises(ConfigError) as caught:
        ReplaySource.load(path)
    assert str(caught.value).startswith(f"{path}:2: {message}")


def test_missing_and_empty_files(tmp_path: Path) -> None:
    with pytest.raises(InvalidInput, match=r"metrics.path: .*nope.jsonl: no such file"):
        ReplaySource.load(tmp_path / "nope.jsonl")
    with pytest.raises(ConfigError, match="holds no intervals"):
        ReplaySource.load(write(tmp_path, ["", "  "]))


def test_from_config_resolves_the_path_and_speed(tmp_path: Path) -> None:
    write(tmp_path, [line(10)])
    config = SimpleNamespace(type="replay", path="run.jsonl", speed="max")
    source = ReplaySource.from_config(config, service="gamebackend", base_dir=tmp_path)
    assert source.path == str(tmp_path / "run.jsonl")
    assert math.isinf(source.clock.speed)


def test_format_line_round_trips(tmp_path: Path) -> None:
    stats = WindowStats.from_latencies([0.01] * 8 + [0.3, 2.0], 1, (0.05, 0.25, 1.0))
    text = format_line(30, Target.CANARY, stats, route_class="wallet")
    source = ReplaySource.load(write(tmp_path, [text]))
    again = source.window(Target.CANARY, T0, T0 + 30, route_class="wallet")
    assert isinstance(again, WindowStats)
    assert (again.requests, again.errors, again.buckets) == (10, 1, stats.buckets)


def test_the_virtual_clock_replays_as_fast_as_the_cpu_allows(tmp_path: Path) -> None:
    lines = [line(t) for t in range(10, 1801, 10)]  # a 30-minute recording
    source = ReplaySource.load(write(tmp_path, lines), speed=math.inf)
    clock = source.clock
    source.anchor(clock.time())
    began, seen = time.monotonic(), 0
    while clock.time() - source.t0 < 1800:  # type: ignore[operator]
        start = clock.time()
        clock.sleep(30)  # the engine's analysis interval
        stats = source.window(Target.CANARY, start, clock.time())
        assert isinstance(stats, WindowStats)
        seen += stats.requests
    assert seen == 180 * 100
    assert time.monotonic() - began < 2.0


def test_a_sped_up_clock_sleeps_a_fraction_of_the_time() -> None:
    slept: list[float] = []
    now = [100.0]
    clock = ReplayClock(60.0, start=5_000.0, wall=lambda: now[0], wall_sleep=slept.append)
    clock.sleep(30)
    now[0] += 0.5
    assert slept == [0.5]
    assert clock.time() == pytest.approx(5_030.0)
    with pytest.raises(InvalidInput, match=r"metrics\.speed"):
        ReplayClock(0)
