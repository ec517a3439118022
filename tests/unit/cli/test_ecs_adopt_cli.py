"""``canaryctl ecs adopt``: bad input is one line and exit 2, before any AWS client exists;
``--help`` says what it does. (Adopting itself: tests/e2e/aws/test_ecs_adopt.py, on moto.)"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]
TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup"
ECS = f"""\
apiVersion: canaryctl/v1
kind: Pipeline
service: gamebackend
policy: {ROOT / "policies" / "gamebackend-alb.yaml"}
platform:
  type: ecs
  region: eu-west-1
  cluster: gamebackend-staging
  listenerArn: arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/gb/1/2
  targetGroups: {{blue: {TG}/gb-blue/1, green: {TG}/gb-green/2}}
metrics: {{type: cloudwatch}}
steps:
  - setWeight: 10
  - analyze: {{}}
  - promote: {{}}
"""


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("an AWS client was created")

    monkeypatch.setattr("canaryctl.aws.client", refuse)


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--container-port", "0"], "--container-port: must be a port (1-65535), got 0"),
        (["--subnets", "subnet-1,"], "--subnets: expected IDs separated by commas"),
        (["--security-groups", "sg-1"], "--security-groups: give --subnets with it"),
        (["--version", "1.0 final"], "--version '1.0 final': use letters"),
        (["--output", "yaml"], "--output: must be text or json, got 'yaml'"),
    ],
)
def test_bad_flags_name_the_flag(cli, no_aws, tmp_path, flags, message):
    path = tmp_path / "pipeline.yaml"
    path.write_text(ECS, encoding="utf-8")
    code, out, err = cli("ecs", "adopt", "-p", str(path), *flags)

    assert (code, out) == (2, "")
    assert err.startswith("error: ") and message in err
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_local_pipeline_is_refused(cli, no_aws):
    local = ROOT / "pipelines" / "gamebackend-local.yaml"
    code, _, err = cli("ecs", "adopt", "-p", str(local))

    assert code == 2
    assert err == f"error: {local}: platform.type: ecs adopt needs an ecs pipeline, not local\n"


def test_a_missing_pipeline_names_the_file(cli, no_aws, tmp_path):
    code, _, err = cli("ecs", "adopt", "-p", str(tmp_path / "nope.yaml"))
    assert code == 2 and "nope.yaml" in err and len(err.splitlines()) == 1


def test_help_says_what_it_does(cli):
    code, out, _ = cli("ecs", "adopt", "--help")
    assert code == 0
    for words in ("first PRIMARY task set", "already adopted", "--task-definition", "--subnets"):
        assert words in " ".join(out.split())
