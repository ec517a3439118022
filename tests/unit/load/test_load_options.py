"""Bounds of a load run (connections, requests, time) and the flags that set them."""

from __future__ import annotations

import random
import resource
from collections import Counter

import pytest

from canaryctl.cli.main import main
from canaryctl.errors import InvalidInput
from canaryctl.load import LoadOptions, check_options, run_in_background
from canaryctl.load.scenario import GameMix, Player

URL = "http://127.0.0.1:9"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ws_players": 5001}, "--ws-players: must be 0..5000 per process, got 5001"),
        ({"ws_players": -1}, "--ws-players: must be 0..5000"),
        ({"duration": 25 * 3600.0}, "--duration: must be positive and at most 24h"),
        ({"matchmaking": 1.5}, r"--matchmaking: a share in \[0, 1\], got 1.5"),
        ({"profile": "flat"}, "--profile: unknown 'flat' .*launch"),
        ({"rps": 0}, r"--rps: must be in \(0, 20000\]"),
        ({"ws_ping_interval": 0}, "--ws-ping-interval: must be positive"),
        ({"max_requests": 0}, "--max-requests: must be at least 1"),
    ],
)
def test_out_of_bounds_options_are_refused_naming_the_flag(change, message):
    opts = LoadOptions(URL, **change)
    with pytest.raises(InvalidInput, match=message):
        check_options(opts)


def test_websocket_players_must_fit_the_open_file_limit(monkeypatch: pytest.MonkeyPatch):
    check_options(LoadOptions(URL, ws_players=5000))  # 20,000 files here: fine
    monkeypatch.setattr(resource, "getrlimit", lambda _: (1024, 1024))
    with pytest.raises(InvalidInput, match=r"--ws-players: 1000 WebSockets .* may open 1024"):
        check_options(LoadOptions(URL, ws_players=1000))
    check_options(LoadOptions(URL, ws_players=800))


def test_the_hook_api_refuses_too_many_players_before_starting_anything():
    with pytest.raises(InvalidInput, match="--ws-players"):
        run_in_background(URL, "launch", rps=10, duration=5, admin_key="k", ws_players=9999)


def test_the_cli_says_what_is_wrong_in_one_line(capsys: pytest.CaptureFixture[str]):
    with pytest.raises(SystemExit) as exc:
        main(["load", "--profile", "launch", "--ws-players", "6000", "--target", URL])
    assert exc.value.code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--ws-players: must be 0..5000" in err, err


@pytest.mark.parametrize(
    ("profile", "ws_players", "given", "share"),
    [
        ("steady", 0, None, 0.0),  # the mix of earlier versions
        ("spike", 0, None, 0.0),
        ("launch", 0, None, 0.1),  # launch day: players queue for matches
        ("steady", 5, None, 0.1),
        ("launch", 5, 0.0, 0.0),
        ("steady", 0, 0.3, 0.3),
    ],
)
def test_matchmaking_share_defaults(profile, ws_players, given, share):
    opts = LoadOptions(URL, profile=profile, ws_players=ws_players, matchmaking=given)
    assert opts.matchmaking_share == share


def _choices(share: float, n: int = 4000) -> Counter[str]:
    async def send(*_a, **_k):  # type: ignore[no-untyped-def]
        return None

    mix = GameMix(send, "k", random.Random(3), None, object(), share)  # type: ignore[arg-type]
    mix.players = [Player(str(i), "t") for i in range(20)]
    return Counter(mix.choose() for _ in range(n))


def test_a_share_of_the_actions_queue_for_matches_and_none_without_it():
    assert _choices(0.0)["matchmake"] == 0
    assert 0.2 < _choices(0.25)["matchmake"] / 4000 < 0.3
