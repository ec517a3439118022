"""The game's data files: the packaged ones load; bad ones fail with file and field named."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from gamebackend.catalogue import CatalogueError, current_period, load_game_data
from gamebackend.settings import Settings

GOOD_BOARDS = "leaderboards:\n  - {id: b, operator: best}\n"


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_packaged_data_loads() -> None:
    settings = Settings()
    data = load_game_data(settings.catalogue, settings.leaderboards)
    assert data.catalogue.currencies == ["coins", "gems"]
    assert data.catalogue.items["sword"].price.currency == "coins"
    assert "jackpot" in data.catalogue.pools
    assert {b.operator for b in data.leaderboards.values()} == {"best", "latest", "increment"}


@pytest.mark.parametrize(
    ("catalogue", "fragment"),
    [
        (
            "currencies: [coins]\nitems:\n  a: {name: A, price: {currency: gold, amount: 1}}\n",
            "unknown currency 'gold'",
        ),
        (
            "currencies: [coins]\nitems:\n  a: {name: A, price: {currency: coins, amount: 0}}\n",
            "items.a.price.amount",
        ),
        ("currencies: []\n", "currencies"),
        ("currencies: [coins]\ncolour: red\n", "colour"),
        ("currencies: [coins\n", "invalid YAML"),
    ],
)
def test_bad_catalogue_is_named(tmp_path: Path, catalogue: str, fragment: str) -> None:
    path = write(tmp_path, "catalogue.yaml", catalogue)
    with pytest.raises(CatalogueError) as err:
        load_game_data(path, write(tmp_path, "boards.yaml", GOOD_BOARDS))
    assert str(path) in str(err.value) and fragment in str(err.value)


def test_bad_boards_are_named(tmp_path: Path) -> None:
    catalogue = write(tmp_path, "c.yaml", "currencies: [coins]\n")
    cases = {
        "leaderboards:\n  - {id: b, operator: max}\n": "operator",
        "leaderboards:\n  - {id: b, operator: best, reset: hourly}\n": "reset",
        "leaderboards:\n  - {id: b, operator: best}\n  - {id: b, operator: latest}\n": (
            "defined twice"
        ),
        "leaderboards:\n  - {id: 'Bad Id', operator: best}\n": "id",
    }
    for text, fragment in cases.items():
        with pytest.raises(CatalogueError) as err:
            load_game_data(catalogue, write(tmp_path, "b.yaml", text))
        assert fragment in str(err.value)
    with pytest.raises(CatalogueError) as err:
        load_game_data(catalogue, tmp_path / "missing.yaml")
    assert "cannot read" in str(err.value)


def test_periods_are_utc_days_and_iso_weeks() -> None:
    # 2027-01-01 is a Friday in ISO week 53 of 2026.
    at = dt.datetime(2027, 1, 1, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2)))
    assert current_period("daily", at) == "2027-01-02"  # 01:30 UTC the next day
    assert current_period("weekly", at) == "2026-W53"
    assert current_period("none", at) == "all"
