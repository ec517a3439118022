"""A pipeline's ``state:``, the replay ``speed``, and values taken from environment outputs
(``fromEnvironment``, ``${env.NAME.outputs.KEY}``) with errors that name file:line."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml
from hcl2 import SerializationOptions

from canaryctl.config import (
    EcsPlatformConfig,
    FileStateConfig,
    LocalPlatformConfig,
    S3StateConfig,
    load_pipeline,
    pipeline_from_snapshot,
)
from canaryctl.errors import ConfigError
from canaryctl.platforms.ecs.settings import EcsSettings

ROOT = Path(__file__).resolve().parents[3]
HCL = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)

HEAD = """\
apiVersion: canaryctl/v1
kind: Pipeline
service: gamebackend
policy: policy.yaml
"""
TAIL = """\
steps:
  - setWeight: 10
  - analyze: {}
  - promote: {}
"""
LOCAL = "platform: {type: local}\nmetrics: {type: embedded}\n"

# What terraform/environments/staging/outputs.tf gives (canaryctl_ecs, state_bucket, ...).
STAGING = {
    "cluster": "gamebackend-staging",
    "region": "eu-west-1",
    "state_bucket": "gamebackend-staging-canaryctl-123456789012",
    "listener_arn": "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/gb/1/2",
    "canaryctl_ecs": {
        "cluster": "gamebackend-staging",
        "service": "gamebackend",
        "region": "eu-west-1",
        "listenerArn": "arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/gb/1/2",
        "containerName": "app",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/gamebackend:{version}",
        "targetGroups": {
            "blue": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/gb-blue/1",
            "green": "arn:aws:elasticloadbalancing:eu-west-1:1:targetgroup/gb-green/2",
        },
        "drainDelay": 300,
        "deregistrationDelay": 300,
    },
    "canaryctl_cloudwatch": {"region": "eu-west-1"},
}


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str], Path]:
    """Writes a pipeline (HEAD + body + TAIL) beside a copy of the shipped policy."""
    shutil.copy(ROOT / "policies" / "gamebackend.yaml", tmp_path / "policy.yaml")

    def make(body: str, tail: str = TAIL) -> Path:
        path = tmp_path / "pipeline.yaml"
        path.write_text(HEAD + textwrap.dedent(body) + tail, encoding="utf-8")
        return path

    return make


def load_error(path: Path, **kw: Any) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_pipeline(path, **kw)
    return info.value


# -- state ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        ("s3://gb-state/staging/", S3StateConfig(bucket="gb-state", prefix="staging/")),
        ("s3://gb-state", S3StateConfig(bucket="gb-state", prefix="canaryctl/")),
        (
            "{type: s3, bucket: gb-state, prefix: p/, region: us-east-2}",
            S3StateConfig(bucket="gb-state", prefix="p/", region="us-east-2"),
        ),
        (".records", FileStateConfig(dir=".records")),
    ],
)
def test_state_is_an_s3_url_an_s3_block_or_a_directory(write, state, expected):
    loaded = load_pipeline(write(LOCAL + f"state: {state}\n"))
    assert loaded.pipeline.state == expected
    assert pipeline_from_snapshot(loaded.snapshot()).state == expected  # resume sees it too


def test_without_state_the_default_file_store_is_used(write):
    assert load_pipeline(write(LOCAL)).pipeline.state is None


@pytest.mark.parametrize(
    ("state", "field", "problem"),
    [
        ("s3:///prefix", "state.bucket", "'' is not an S3 bucket name"),
        ("s3://My_Bucket/x", "state.bucket", "'My_Bucket' is not an S3 bucket name"),
        ("{type: dynamodb, table: t}", "state.type", "unknown type 'dynamodb' (known: file, s3)"),
        ("{type: s3, bucket: gb-state, prefx: p/}", "state.prefx", "unknown field 'prefx'"),
    ],
)
def test_a_bad_state_names_its_line(write, state, field, problem):
    err = load_error(write(LOCAL + f"state: {state}\n"))
    assert (err.line, err.field) == (7, field)
    assert problem in err.problem


# -- replay speed ---------------------------------------------------------------------------


@pytest.mark.parametrize(("speed", "expected"), [("1", 1.0), ("25", 25.0), ("max", "max")])
def test_replay_speed_is_a_factor_or_max(write, speed, expected):
    body = f"platform: {{type: local}}\nmetrics: {{type: replay, path: r.jsonl, speed: {speed}}}\n"
    assert load_pipeline(write(body)).pipeline.metrics.speed == expected


def test_replay_speed_defaults_to_real_time(write):
    body = "platform: {type: local}\nmetrics: {type: replay, path: r.jsonl}\n"
    assert load_pipeline(write(body)).pipeline.metrics.speed == 1.0


@pytest.mark.parametrize("speed", ["0", "-2", "fast", "true"])
def test_a_bad_replay_speed_names_its_line(write, speed):
    body = f"platform: {{type: local}}\nmetrics:\n  type: replay\n  path: r\n  speed: {speed}\n"
    err = load_error(write(body))
    assert (err.line, err.field) == (9, "metrics.speed")
    assert "1 = real time" in err.problem and "max" in err.problem


# -- environment outputs --------------------------------------------------------------------


def test_from_environment_fills_the_ecs_block_and_written_keys_win(write):
    body = """\
    platform:
      type: ecs
      fromEnvironment: staging
      healthTimeout: 10m
      containerName: web
    metrics: {type: cloudwatch, fromEnvironment: staging, period: 60s}
    state: s3://${env.staging.outputs.state_bucket}/canaryctl/
    """
    path = write(body)
    # CloudWatch answers whole target groups only: the shipped policy's `all` SLOs
    policy = yaml.safe_load((path.parent / "policy.yaml").read_text(encoding="utf-8"))
    policy["slos"] = {"all": policy["slos"]["all"]}
    (path.parent / "policy.yaml").write_text(yaml.safe_dump(policy), encoding="utf-8")
    loaded = load_pipeline(path, outputs={"staging": STAGING})
    platform = loaded.pipeline.platform
    assert isinstance(platform, EcsPlatformConfig)
    assert platform.cluster == "gamebackend-staging" and platform.region == "eu-west-1"
    assert platform.target_groups.blue.endswith("gb-blue/1")
    assert platform.image.endswith("/gamebackend:{version}")
    assert (platform.container_name, platform.health_timeout) == ("web", 600.0)
    assert loaded.pipeline.metrics.region == "eu-west-1"
    assert loaded.pipeline.state == S3StateConfig(bucket=STAGING["state_bucket"])
    assert loaded.plan.health_timeout_s == 600.0
    # the record keeps literal values: a resume never needs Terraform
    snapshot = loaded.snapshot()["pipeline"]
    assert "fromEnvironment" not in snapshot["platform"]
    assert snapshot["platform"]["cluster"] == "gamebackend-staging"


def test_a_drain_shorter_than_the_target_groups_deregistration_delay_is_refused(write):
    body = """\
    platform:
      type: ecs
      fromEnvironment: staging
      drainDelay: 30s
    metrics: {type: embedded}
    """
    err = load_error(write(body), outputs={"staging": STAGING})
    assert (err.line, err.field) == (8, "platform.drainDelay")
    assert "30 s is shorter than the target groups' deregistrationDelay (300 s)" in err.problem
    longer = write(body.replace("30s", "10m"))
    assert load_pipeline(longer, outputs={"staging": STAGING}).pipeline.platform.drain_delay == 600
    default = write(body.replace("      drainDelay: 30s\n", ""))
    assert load_pipeline(default, outputs={"staging": STAGING}).pipeline.platform.drain_delay == 300


def test_a_whole_value_reference_keeps_its_type(write):
    body = """\
    platform:
      type: local
      sandbox: ${env.local.outputs.state_dir}
      healthTimeout: ${env.local.outputs.canaryctl_local.healthTimeout}
    metrics: {type: embedded}
    """
    outputs = {"local": {"state_dir": ".sb", "canaryctl_local": {"healthTimeout": "45s"}}}
    platform = load_pipeline(write(body), outputs=outputs).pipeline.platform
    assert platform == LocalPlatformConfig(sandbox=".sb", health_timeout=45.0)


def test_outputs_come_from_terraform_by_default(write, monkeypatch, tmp_path):
    """Without ``outputs`` the loader asks Terraform, in $CANARYCTL_ENVIRONMENTS."""
    asked: list[tuple[Path, str]] = []

    class FakeTerraformOutputs:
        def __init__(self, root: Path) -> None:
            self.root = root

        def __call__(self, name: str) -> dict[str, Any]:
            asked.append((self.root, name))
            return {"canaryctl_local": {"sandbox": ".from-tf"}}

    monkeypatch.setattr("canaryctl.infra.outputs.TerraformOutputs", FakeTerraformOutputs)
    monkeypatch.setenv("CANARYCTL_ENVIRONMENTS", str(tmp_path / "envs"))
    body = "platform: {type: local, fromEnvironment: local}\nmetrics: {type: embedded}\n"
    assert load_pipeline(write(body)).pipeline.platform.sandbox == ".from-tf"
    assert asked == [(tmp_path / "envs", "local")]
    load_pipeline(write(LOCAL))  # no reference: Terraform is not run
    assert len(asked) == 1


@pytest.mark.parametrize(
    ("body", "line", "field", "problem"),
    [
        (
            "platform: {type: local, sandbox: '${env.local.outputs.nope}'}\n",
            5,
            "platform.sandbox",
            "environment 'local' has no output 'nope' (outputs: canaryctl_local, state_dir)",
        ),
        (
            "platform: {type: local, sandbox: '${env.qa.outputs.state_dir}'}\n",
            5,
            "platform.sandbox",
            "unknown environment 'qa' (known: local)",
        ),
        (
            "platform:\n  type: local\n  fromEnvironment: 12\n",
            7,
            "platform.fromEnvironment",
            "expected an environment name, got 12",
        ),
        (
            "platform:\n  fromEnvironment: local\n",
            6,
            "platform.fromEnvironment",
            "needs a `type` beside it",
        ),
    ],
)
def test_a_bad_reference_names_the_line_of_the_reference(write, body, line, field, problem):
    outputs = {"local": {"state_dir": ".sb", "canaryctl_local": {"sandbox": ".sb"}}}
    err = load_error(write(body + "metrics: {type: embedded}\n"), outputs=outputs)
    assert (err.line, err.field) == (line, field)
    assert problem in err.problem


def test_a_bad_value_from_an_environment_points_at_from_environment(write):
    outputs = {"staging": {"canaryctl_ecs": {**STAGING["canaryctl_ecs"], "clusterName": "x"}}}
    body = "metrics: {type: embedded}\nplatform:\n  type: ecs\n  fromEnvironment: staging\n"
    err = load_error(write(body), outputs=outputs)
    assert (err.line, err.field) == (8, "platform.clusterName")
    assert "unknown field 'clusterName'" in err.problem


def test_environment_is_not_a_platform_key_and_says_what_to_write(write):
    body = "platform:\n  type: ecs\n  environment: staging\nmetrics: {type: embedded}\n"
    err = load_error(write(body))
    assert (err.line, err.field) == (7, "platform.environment")
    assert "write fromEnvironment: NAME" in err.problem


def test_an_ecs_platform_without_a_cluster_is_refused_at_load_time(write):
    body = """\
    platform:
      type: ecs
      listenerArn: arn:aws:elasticloadbalancing:eu-west-1:1:listener/app/gb/1/2
      targetGroups: {blue: a, green: b}
    metrics: {type: embedded}
    """
    err = load_error(write(body))
    assert (err.line, err.field, err.problem) == (5, "platform.cluster", "is required")


def test_the_ecs_model_and_the_terraform_outputs_and_settings_agree():
    """Every key the ``canaryctl_ecs`` output writes (once, in the module staging and
    production both call; tests/unit/infra/test_terraform_environments.py checks they pass
    it through) is a field of the pipeline model, and every model field of the ECS platform
    is one of EcsSettings."""
    aliases = {f.alias for f in EcsPlatformConfig.model_fields.values()}
    path = ROOT / "terraform" / "modules" / "service_environment" / "outputs.tf"
    doc = hcl2.loads(path.read_text(), serialization_options=HCL)
    outputs = {k: v for o in doc["output"] for k, v in o.items()}
    value = outputs["canaryctl_ecs"]["value"]
    assert isinstance(value, dict) and set(value) <= aliases
    settings = set(EcsSettings.__dataclass_fields__)
    # health_timeout is the engine's; deregistration_delay only bounds drain_delay here
    model = set(EcsPlatformConfig.model_fields) - {"type", "health_timeout", "deregistration_delay"}
    assert model <= settings
