"""The matchmaking rules as pure functions: windows, regions, and who plays whom."""

from __future__ import annotations

import pytest

from gamebackend.matchmaking.engine import Candidate, form_groups
from gamebackend.matchmaking.rules import MatchRules

RULES = MatchRules(
    regions="eu,us", max_ping=100, region_slack=20, region_fallback=5, window_base=100,
    window_widen=50, window_cap=300, expiry=60,
)  # fmt: skip


def cand(tid: str, mmr: int, waited: float = 0.0) -> Candidate:
    return Candidate(tid, f"p-{tid}", mmr, waited, ping=20, best_ping=20)


def test_window_widens_with_wait_up_to_the_cap() -> None:
    assert RULES.window(0) == 100
    assert RULES.window(2) == 200
    assert RULES.window(4) == 300
    assert RULES.window(60) == 300


def test_regions_within_the_ping_limit_best_first_then_any() -> None:
    assert RULES.searches_in(ping=30, best_ping=30, waited=0)
    assert RULES.searches_in(ping=50, best_ping=30, waited=0)  # within the 20 ms slack
    assert not RULES.searches_in(ping=60, best_ping=30, waited=4.9)
    assert RULES.searches_in(ping=60, best_ping=30, waited=5.0)
    assert not RULES.searches_in(ping=101, best_ping=101, waited=1000)  # beyond the limit


def test_pairs_within_each_others_window() -> None:
    groups = form_groups([cand("a", 1000), cand("b", 1090), cand("c", 1500)], 2, RULES)
    assert [[c.ticket_id for c in g] for g in groups] == [["a", "b"]]


def test_a_fresh_ticket_refuses_a_distant_old_one() -> None:
    # The old ticket accepts 300, but the fresh one only 100: no match yet.
    assert form_groups([cand("old", 1000, waited=10), cand("new", 1250)], 2, RULES) == []
    assert (
        len(form_groups([cand("old", 1000, waited=10), cand("new", 1250, waited=3)], 2, RULES)) == 1
    )


def test_longest_waiting_picks_first_and_takes_the_closest() -> None:
    cands = [cand("x", 1000), cand("old", 1050, waited=3), cand("y", 1060), cand("z", 1200)]
    groups = form_groups(cands, 2, RULES)
    first = {c.ticket_id for c in groups[0]}
    assert first == {"old", "y"}  # 10 apart beats 50 apart
    assert all(len(g) == 2 for g in groups)


def test_squads_of_four_have_the_smallest_spread_containing_the_ticket() -> None:
    mmrs = [900, 1000, 1010, 1020, 1030, 1400]
    groups = form_groups([cand(str(m), m) for m in mmrs], 4, RULES)
    assert [[c.mmr for c in g] for g in groups] == [[1000, 1010, 1020, 1030]]


@pytest.mark.parametrize("size", [2, 4])
def test_no_ticket_in_two_groups(size: int) -> None:
    cands = [cand(str(i), 1000 + (i * 37) % 400, waited=(i % 7) * 0.5) for i in range(200)]
    groups = form_groups(sorted(cands, key=lambda c: c.mmr), size, RULES)
    ids = [c.ticket_id for g in groups for c in g]
    assert len(ids) == len(set(ids)) and len(groups) >= 40
    for g in groups:
        spread = max(c.mmr for c in g) - min(c.mmr for c in g)
        assert spread <= min(RULES.window(c.waited) for c in g)


def test_invalid_rules_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    from gamebackend.matchmaking.rules import load_rules
    from gamebackend.settings import SettingsError

    monkeypatch.setenv("GAMEBACKEND_MM_MAX_PING", "-3")
    with pytest.raises(SettingsError, match="GAMEBACKEND_MM_MAX_PING"):
        load_rules()
    monkeypatch.setenv("GAMEBACKEND_MM_MAX_PING", "100")
    monkeypatch.setenv("GAMEBACKEND_MM_REGIONS", "eu, ,us west")
    with pytest.raises(SettingsError, match="GAMEBACKEND_MM_REGIONS"):
        load_rules()
