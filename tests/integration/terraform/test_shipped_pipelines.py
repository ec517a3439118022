"""The shipped ECS pipelines (``pipelines/gamebackend-staging.yaml``, ``-production.yaml``)
validated the way a user validates them: ``canaryctl policy validate`` resolving
``fromEnvironment`` and ``${env.NAME.outputs.KEY}`` through real (embedded) Terraform, reading
the outputs of fixture environments (``tests/fixtures/environments``) that have exactly the
outputs terraform/environments/{staging,production} declare. And the docs' original pairing
(the route-class policy on CloudWatch) refused against the same outputs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hcl2
import pytest
from hcl2 import SerializationOptions

from canaryctl.config import EcsPlatformConfig, load_pipeline
from canaryctl.config.yamlload import line_of, load_yaml
from canaryctl.infra.outputs import TerraformOutputs

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
PIPELINES = {
    env: REPO / "pipelines" / f"gamebackend-{env}.yaml" for env in ("staging", "production")
}
FIXTURES = REPO / "tests" / "fixtures" / "environments"
HCL = SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def _outputs_tf(path: Path) -> dict[str, Any]:
    doc = hcl2.loads(path.read_text(encoding="utf-8"), serialization_options=HCL)
    return {k: v for block in doc.get("output", []) for k, v in block.items()}


@pytest.fixture
def environments(terraform_environments: Any, embedded_terraform: Any) -> tuple[Path, dict]:
    """The fixture environments and the environment canaryctl runs with to read them."""
    root = terraform_environments()
    return root, {**embedded_terraform.env, "CANARYCTL_ENVIRONMENTS": str(root)}


@pytest.mark.parametrize("env", ["staging", "production"])
def test_the_fixture_has_the_outputs_the_environment_declares(env: str) -> None:
    fixture = json.loads((FIXTURES / f"{env}.json").read_text(encoding="utf-8"))
    declared = _outputs_tf(REPO / "terraform" / "environments" / env / "outputs.tf")
    assert set(fixture) == set(declared)
    module = _outputs_tf(REPO / "terraform" / "modules" / "service_environment" / "outputs.tf")
    for block in ("canaryctl_ecs", "canaryctl_cloudwatch"):
        assert set(fixture[block]) == set(module[block]["value"]), block


def test_both_shipped_pipelines_validate_against_the_environments(
    canaryctl: Any, environments: tuple[Path, dict]
) -> None:
    _, env = environments
    files = [str(PIPELINES["staging"]), str(PIPELINES["production"])]
    done = canaryctl("policy", "validate", *files, "-o", "json", env=env)

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""  # no warning: every SLO can be answered by CloudWatch
    results = done.json()
    assert [r["valid"] for r in results] == [True, True]
    assert "set weight 10%" in results[0]["summary"]
    assert "set weight 25%" in results[1]["summary"]


@pytest.mark.parametrize("env", ["staging", "production"])
def test_each_pipeline_drives_its_own_environment(env: str, environments: tuple[Path, dict]):
    root, _ = environments
    outputs = TerraformOutputs(root)(env)
    loaded = load_pipeline(PIPELINES[env], outputs=TerraformOutputs(root))
    pipeline = loaded.pipeline

    platform = pipeline.platform
    assert isinstance(platform, EcsPlatformConfig)
    ecs = outputs["canaryctl_ecs"]
    assert (platform.cluster, platform.service, platform.listener_arn) == (
        outputs["cluster"],
        outputs["service"],
        outputs["listener_arn"],
    )
    assert (platform.target_groups.blue, platform.target_groups.green) == (
        outputs["blue_target_group_arn"],
        outputs["green_target_group_arn"],
    )
    assert platform.drain_delay >= outputs["deregistration_delay"] == ecs["drainDelay"]
    assert pipeline.metrics.type == "cloudwatch"
    assert pipeline.metrics.region == outputs["region"]  # type: ignore[union-attr]
    assert pipeline.state is not None and pipeline.state.bucket == outputs["state_bucket"]  # type: ignore[union-attr]
    assert [r.slo.route_class for r in loaded.plan.rules] == [None] * len(loaded.plan.rules)


def test_staging_loads_the_alb_and_production_only_judges_players(
    environments: tuple[Path, dict],
) -> None:
    root, _ = environments
    staging = load_pipeline(PIPELINES["staging"], outputs=TerraformOutputs(root))
    (hook,) = staging.pipeline.hooks.during_analysis
    alb = TerraformOutputs(root)("staging")["alb_dns_name"]
    assert hook.load is not None
    assert hook.load.url == f"https://{alb}" and hook.load.allow_remote is True

    production = load_pipeline(PIPELINES["production"], outputs=TerraformOutputs(root))
    assert production.pipeline.hooks.during_analysis == []
    weights = [s.weight for s in production.plan.steps if s.kind == "set_weight"]
    assert weights == [10, 25, 50]  # then promote: 100
    windows = {s.duration_s for s in production.plan.steps if s.kind == "analyze"}
    staging_windows = {s.duration_s for s in staging.plan.steps if s.kind == "analyze"}
    assert None not in windows | staging_windows
    assert min(windows) > max(staging_windows)  # type: ignore[type-var]


def test_the_docs_original_pairing_is_refused_naming_the_slo_and_the_source(
    canaryctl: Any, environments: tuple[Path, dict], tmp_path: Path
) -> None:
    """docs/aws.md §6 paired the staging pipeline with policies/gamebackend.yaml, whose
    ``wallet`` SLOs are required, on CloudWatch: every release would roll back on no data."""
    _, env = environments
    shipped_policy = REPO / "policies" / "gamebackend.yaml"
    text = PIPELINES["staging"].read_text(encoding="utf-8")
    original = text.replace("policy: ../policies/gamebackend-alb.yaml", f"policy: {shipped_policy}")
    assert original != text
    path = tmp_path / "gamebackend-staging.yaml"
    path.write_text(original, encoding="utf-8")

    done = canaryctl("policy", "validate", str(path), "-o", "text", env=env)

    assert done.returncode == 2 and done.stdout == ""
    line = line_of(load_yaml(str(shipped_policy), "policy"), ("slos", "wallet", "errorRate"))
    metrics_line = line_of(load_yaml(str(path), "pipeline"), ("metrics", "type"))
    assert done.stderr.startswith(f"error: {shipped_policy}:{line}: slos.wallet.errorRate: ")
    assert "required SLO wallet.error_rate" in done.stderr
    assert f"metrics source cloudwatch ({path}:{metrics_line})" in done.stderr
    assert len(done.stderr.splitlines()) == 1 and "Traceback" not in done.stderr
