"""Durations, percentages and factors as policy authors write them."""

from __future__ import annotations

import pytest

from canaryctl.config.units import (
    format_duration,
    format_percent,
    parse_duration,
    parse_factor,
    parse_percent,
)


@pytest.mark.parametrize(("text", "seconds"), [("250ms", 0.25), ("30s", 30.0), ("2m", 120.0),
    ("1h", 3600.0), ("1m30s", 90.0), (" 10s ", 10.0), (5, 5.0), (0.5, 0.5)])  # fmt: skip
def test_durations(text, seconds):
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("bad", ["5x", "ten seconds", "", "-5s", True, None, [1], -1, "1.5.2s"])
def test_bad_durations_say_how_to_write_one(bad):
    with pytest.raises(ValueError, match="duration"):
        parse_duration(bad)


@pytest.mark.parametrize(("text", "fraction"), [("1%", 0.01), ("0.5 %", 0.005), (0.01, 0.01),
    ("0.02", 0.02), (0, 0.0), ("100%", 1.0)])  # fmt: skip
def test_percentages(text, fraction):
    assert parse_percent(text) == pytest.approx(fraction)


def test_a_bare_number_above_one_is_refused_with_a_hint():
    with pytest.raises(ValueError, match="write 5% if you meant percent"):
        parse_percent(5)
    with pytest.raises(ValueError, match="invalid percentage"):
        parse_percent("one percent")


def test_factors():
    assert parse_factor("1.2x") == 1.2 and parse_factor(2) == 2.0 and parse_factor("1.5×") == 1.5
    with pytest.raises(ValueError, match="factor"):
        parse_factor("x1.2")


def test_formatting_for_people():
    assert [format_duration(s) for s in (0.25, 0.0042, 30, 90, 120, 7200, None)] == [
        "250ms", "4.2ms", "30s", "1m30s", "2m", "2h", "-"]  # fmt: skip
    assert [format_percent(f) for f in (0.01, 0.0125, 0.0, None)] == ["1%", "1.25%", "0%", "-"]
