"""The load hook hands the pipeline's generator options to canaryctl's load generator."""

from __future__ import annotations

from typing import Any

import pytest

import canaryctl.load
from canaryctl.rollout.hooks import LoadHookRunner
from canaryctl.rollout.plan import LoadHookSpec


class Handle:
    def stop(self) -> None:
        pass


def test_websocket_players_and_matchmaking_reach_the_generator(monkeypatch: pytest.MonkeyPatch):
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []

    def run_in_background(*args: Any, **kw: Any) -> Handle:
        calls.append((args, kw))
        return Handle()

    monkeypatch.setattr(canaryctl.load, "run_in_background", run_in_background)
    runner = LoadHookRunner(lambda: "http://127.0.0.1:8080", lambda: {"admin_key": "k"})
    hooks = [
        LoadHookSpec("launch", 50.0, ws_players=300, matchmaking=0.2),
        LoadHookSpec("steady", 20.0, duration_s=10.0, url="http://127.0.0.1:9000"),
    ]
    handles = runner.start(hooks, 60.0)

    assert len(handles) == 2
    assert calls[0] == (
        ("http://127.0.0.1:8080", "launch", 50.0, 60.0),
        {"ws_players": 300, "matchmaking": 0.2, "admin_key": "k"},
    )
    assert calls[1] == (("http://127.0.0.1:9000", "steady", 20.0, 10.0), {"admin_key": "k"})
