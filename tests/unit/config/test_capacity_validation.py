"""Canary capacity at validation: an ECS pipeline whose capacity settings cannot serve one of
its steps is refused before anything is deployed (exit 2, file:line), through the real CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

from canaryctl.cli.main import main
from canaryctl.config import load_pipeline

ELB = "arn:aws:elasticloadbalancing:eu-west-1:123456789012"
PIPELINE = f"""\
apiVersion: canaryctl/v1
kind: Pipeline
service: gamebackend
policy: policy.yaml
platform:
  type: ecs
  region: eu-west-1
  cluster: staging
  listenerArn: {ELB}:listener/app/gb/1/2
  targetGroups: {{blue: {ELB}:targetgroup/gb-blue/1, green: {ELB}:targetgroup/gb-green/2}}
  canaryScalePercent: 10
  canaryMaxScalePercent: 50
metrics: {{type: replay, path: r.jsonl}}
steps:
  - setWeight: 10
  - analyze: {{}}
  - setWeight: 50
  - analyze: {{}}
  - promote: {{}}
"""
POLICY = """\
apiVersion: canaryctl/v1
kind: Policy
analysis: {interval: 2s, window: 6s}
slos:
  all:
    errorRate: {max: 1%}
"""


def _deploy(tmp: Path, pipeline: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    (tmp / "p.yaml").write_text(pipeline)
    (tmp / "policy.yaml").write_text(POLICY)
    with pytest.raises(SystemExit) as done:
        main(["deploy", "--pipeline", str(tmp / "p.yaml"), "--version", "1.1.0"])
    return int(done.value.code or 0), capsys.readouterr().err


def test_capacity_that_serves_every_step_validates(tmp_path: Path) -> None:
    (tmp_path / "policy.yaml").write_text(POLICY)
    (tmp_path / "p.yaml").write_text(PIPELINE)
    loaded = load_pipeline(tmp_path / "p.yaml")
    assert [s.set_weight for s in loaded.pipeline.steps if s.set_weight] == [10, 50]


@pytest.mark.parametrize(
    ("old", "new", "where", "problem"),
    [
        (
            "setWeight: 50",
            "setWeight: 75",
            "p.yaml:17",
            "75% of the traffic needs the canary task set scaled to 75% or more, above "
            "platform.canaryMaxScalePercent (50%)",
        ),
        (
            "canaryScalePercent: 10",
            "canaryScalePercent: 60",
            "p.yaml:11",
            "60% is above canaryMaxScalePercent (50%)",
        ),
    ],
    ids=["step-above-the-most", "minimum-above-the-most"],
)
def test_capacity_that_cannot_serve_a_step_is_refused(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    old: str,
    new: str,
    where: str,
    problem: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CANARYCTL_STATE_DIR", str(tmp_path / "state"))
    code, err = _deploy(tmp_path, PIPELINE.replace(old, new), capsys)
    [line] = [x for x in err.splitlines() if x.strip()]
    assert code == 2, err
    assert line.startswith("error: ") and where in line and problem in line, line
    assert not (tmp_path / "state").exists()  # refused before anything was recorded
