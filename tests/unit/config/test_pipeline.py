"""Pipelines load with their policy into a plan; --set overrides apply before validation."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from canaryctl.config import load_pipeline, pipeline_from_snapshot
from canaryctl.config.platform import LocalPlatformConfig
from canaryctl.errors import ConfigError

ROOT = Path(__file__).resolve().parents[3]
PIPELINE = ROOT / "pipelines" / "gamebackend-local.yaml"


def test_the_shipped_pipeline_is_ten_percent_for_the_window_then_promote():
    loaded = load_pipeline(PIPELINE)
    steps = loaded.plan.steps
    assert [s.kind for s in steps] == ["set_weight", "analyze", "promote"]
    assert steps[0].weight == 10 and steps[1].duration_s == 180 and steps[1].interval_s == 5
    assert loaded.plan.load_hooks and loaded.plan.load_hooks[0].profile == "steady"
    assert loaded.plan.load_hooks[0].rps == 300  # 30/s on the canary: enough evidence in 3 min
    assert isinstance(loaded.pipeline.platform, LocalPlatformConfig)
    assert loaded.pipeline.platform.health_timeout == 60.0
    assert loaded.pipeline.metrics.type == "embedded"
    assert loaded.policy.path.endswith("policies/gamebackend.yaml")
    assert len(loaded.plan.rules) == len(loaded.policy.rules) > 0


def test_set_overrides_the_window_for_a_demo():
    loaded = load_pipeline(PIPELINE, ["analysis.window=30s", "steps.0.setWeight=20"])
    assert loaded.plan.steps[1].duration_s == 30 and loaded.plan.steps[0].weight == 20
    assert loaded.snapshot()["sets"] == ["analysis.window=30s", "steps.0.setWeight=20"]


def test_set_can_switch_the_metric_source():
    loaded = load_pipeline(
        PIPELINE, ["metrics.type=prometheus", "metrics.url=http://127.0.0.1:9090"]
    )
    assert loaded.pipeline.metrics.type == "prometheus"
    assert loaded.pipeline.metrics.timeout == 5.0


def test_the_snapshot_rebuilds_the_same_models():
    loaded = load_pipeline(PIPELINE)
    again = pipeline_from_snapshot(loaded.snapshot())
    assert again == loaded.pipeline


def test_the_policy_path_is_relative_to_the_pipeline(tmp_path):
    (tmp_path / "p").mkdir()
    text = PIPELINE.read_text().replace("../policies/gamebackend.yaml", "missing.yaml")
    (tmp_path / "p" / "x.yaml").write_text(text)
    with pytest.raises(ConfigError, match=r"policy file .*p/missing.yaml not found") as info:
        load_pipeline(tmp_path / "p" / "x.yaml")
    assert info.value.line == 10
    shutil.copy(ROOT / "policies" / "gamebackend.yaml", tmp_path / "p" / "missing.yaml")
    assert load_pipeline(tmp_path / "p" / "x.yaml").plan.rules


def test_a_load_hook_can_hold_websocket_players_and_queue_for_matches():
    loaded = load_pipeline(
        PIPELINE,
        [
            "hooks.duringAnalysis.0.load.wsPlayers=200",
            "hooks.duringAnalysis.0.load.matchmaking=20%",
        ],
    )
    hook = loaded.plan.load_hooks[0]
    assert (hook.ws_players, hook.matchmaking) == (200, 0.2)
    assert hook.options() == {"ws_players": 200, "matchmaking": 0.2}
    assert load_pipeline(PIPELINE).plan.load_hooks[0].options() == {}  # the generator's defaults


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("wsPlayers=9000", "less than or equal to 5000"),
        ("wsPlayers=-1", "greater than or equal to 0"),
        ("matchmaking=150%", "'150%' is above 100%"),
        ("matchmaking=-5%", "invalid percentage '-5%'"),
    ],
)
def test_bad_load_hook_options_name_the_flag(value, problem):
    with pytest.raises(ConfigError, match=problem) as info:
        load_pipeline(PIPELINE, [f"hooks.duringAnalysis.0.load.{value}"])
    assert f"--set hooks.duringAnalysis.0.load.{value}" in str(info.value)


def _with_hook_url(tmp_path: Path, url: str, extra: str = "") -> Path:
    """The shipped pipeline with its load hook aimed at ``url`` (written in the file)."""
    text = PIPELINE.read_text().replace("../policies/", f"{ROOT}/policies/")
    hook = "    - load: {profile: steady, rps: 300}"
    assert hook in text
    text = text.replace(hook, f"    - load:\n        rps: 300\n        url: {url}\n{extra}")
    path = tmp_path / "remote.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3:8080", "https://203.0.113.7", "http://[2001:db8::1]"]
)
def test_a_remote_literal_load_target_is_refused_naming_the_line_and_the_key(tmp_path, url):
    path = _with_hook_url(tmp_path, url)
    with pytest.raises(ConfigError) as info:
        load_pipeline(path)
    err = info.value
    line = next(
        i for i, t in enumerate(path.read_text().splitlines(), 1) if t.strip().startswith("url:")
    )
    assert (err.path, err.line, err.field) == (str(path), line, "hooks.duringAnalysis[0].load.url")
    assert "is not a loopback address" in err.problem and "allowRemote: true" in err.problem


def test_a_remote_load_target_is_accepted_when_the_pipeline_opts_in(tmp_path):
    path = _with_hook_url(tmp_path, "https://203.0.113.7", "        allowRemote: true\n")
    hook = load_pipeline(path).plan.load_hooks[0]
    assert (hook.url, hook.allow_remote) == ("https://203.0.113.7", True)
    line = next(i for i, t in enumerate(path.read_text().splitlines(), 1) if "- load:" in t)
    assert (hook.where, hook.key) == (f"{path}:{line}", "hooks.duringAnalysis[0].load")


@pytest.mark.parametrize(
    "url", ["http://localhost:8080", "https://127.0.0.1", "http://alb.internal"]
)
def test_loopback_and_named_load_targets_load(tmp_path, url):
    # A name is resolved by the hook runner at run time (tests/unit/rollout/test_hooks.py).
    hook = load_pipeline(_with_hook_url(tmp_path, url)).plan.load_hooks[0]
    assert (hook.url, hook.allow_remote) == (url, False)


def test_a_load_target_that_is_not_http_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"url: expected an http:// or https:// URL"):
        load_pipeline(_with_hook_url(tmp_path, "ftp://127.0.0.1"))


def test_a_k6_hook_plays_a_profile_or_a_script_next_to_the_pipeline(tmp_path):
    loaded = load_pipeline(
        PIPELINE,
        ["hooks.duringAnalysis.0.load.runner=k6", "hooks.duringAnalysis.0.load.profile=launch"],
    )
    hook = loaded.plan.load_hooks[0]
    assert (hook.runner, hook.profile, hook.script) == ("k6", "launch", None)
    (tmp_path / "load").mkdir()
    (tmp_path / "load" / "mine.js").write_text("export default function () {}\n")
    path = _with_hook_url(
        tmp_path, "http://127.0.0.1:8080", "        runner: k6\n        script: load/mine.js\n"
    )
    hook = load_pipeline(path).plan.load_hooks[0]
    assert hook.script == str(tmp_path / "load" / "mine.js")


@pytest.mark.parametrize(
    ("extra", "field", "problem"),
    [
        ("        runner: k6\n        script: nope.js\n", "script", "no k6 script at .*nope.js"),
        ("        script: mine.js\n", "script", "a k6 script runs on k6: set runner: k6"),
        ("        runner: k6\n        wsPlayers: 10\n", "wsPlayers", "canaryctl's generator's"),
        ("        runner: locust\n", "runner", "must be 'canaryctl' or 'k6'"),
    ],
)
def test_bad_k6_hooks_are_refused_naming_the_line(tmp_path, extra, field, problem):
    (tmp_path / "mine.js").write_text("export default function () {}\n")
    path = _with_hook_url(tmp_path, "http://127.0.0.1:8080", extra)
    with pytest.raises(ConfigError, match=problem) as info:
        load_pipeline(path)
    key = field.split(":")[0]
    line = next(
        i for i, t in enumerate(path.read_text().splitlines(), 1) if t.strip().startswith(f"{key}:")
    )
    assert (info.value.line, info.value.field) == (line, f"hooks.duringAnalysis[0].load.{field}")
