"""The preflight of a pipeline against what its metric source can answer: the docs' original
pairing (the shipped policy, whose ``wallet`` SLOs are required, on CloudWatch, which has no
route classes) is refused by ``policy validate`` and by ``deploy`` before anything happens,
naming the SLO (file:line in the policy) and the source; optional route-class SLOs only warn."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from canaryctl.config import load_pipeline
from canaryctl.config.yamlload import line_of, load_yaml

ROOT = Path(__file__).resolve().parents[3]
SHIPPED = ROOT / "policies" / "gamebackend.yaml"
TG = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup"


def pipeline(tmp_path: Path, policy: Path, metrics: str = "{type: cloudwatch}") -> Path:
    """The ECS pipeline of docs/aws.md §6 with its identifiers written out."""
    path = tmp_path / "pipeline.yaml"
    path.write_text(
        f"""\
apiVersion: canaryctl/v1
kind: Pipeline
service: gamebackend
policy: {policy}
platform:
  type: ecs
  region: eu-west-1
  cluster: gamebackend-staging
  listenerArn: arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/gb/1/2
  targetGroups: {{blue: {TG}/gb-blue/1, green: {TG}/gb-green/2}}
  image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/gamebackend:{{version}}
metrics: {metrics}
state: {tmp_path / "records"}
analysis: {{window: 10m, interval: 1m}}
steps:
  - setWeight: 10
  - analyze: {{}}
  - promote: {{}}
""",
        encoding="utf-8",
    )
    return path


def test_the_docs_pairing_is_refused_by_validate_naming_the_slo_and_the_source(cli, tmp_path):
    path = pipeline(tmp_path, SHIPPED)
    code, out, err = cli("policy", "validate", str(path), "-o", "text")

    assert code == 2 and out == ""
    line = line_of(load_yaml(str(SHIPPED), "policy"), ("slos", "wallet", "errorRate"))
    assert err.startswith(f"error: {SHIPPED}:{line}: slos.wallet.errorRate: ")
    assert "required SLO wallet.error_rate" in err and "route class 'wallet'" in err
    assert f"metrics source cloudwatch ({path}:12)" in err
    assert "(and 1 more required route-class SLO)" in err  # wallet.p95
    assert len(err.splitlines()) == 1 and "Traceback" not in err


def test_deploy_refuses_it_before_any_side_effect(cli, tmp_path, monkeypatch):
    def no_aws(*args: object, **kwargs: object) -> None:
        raise AssertionError("an AWS client was created")

    monkeypatch.setattr("canaryctl.aws.client", no_aws)
    path = pipeline(tmp_path, SHIPPED)
    code, _, err = cli("deploy", "-p", str(path), "--version", "1.2.0", "--yes")

    assert code == 2
    assert "required SLO wallet.error_rate" in err and "metrics source cloudwatch" in err
    assert not (tmp_path / "records").exists()  # no record, no lock


def test_optional_route_class_slos_only_warn(cli, tmp_path):
    policy = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    policy["slos"]["wallet"]["required"] = False
    changed = tmp_path / "policy.yaml"
    changed.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    path = pipeline(tmp_path, changed)

    code, out, err = cli("policy", "validate", str(path), "-o", "text")
    assert code == 0 and out.startswith(f"ok: {path}: pipeline for gamebackend")
    warnings = err.splitlines()
    assert [w.split(": slos.")[1].split(":")[0] for w in warnings] == [
        "wallet",
        "inventory",
        "leaderboard",
        "matchmaking",
    ]
    assert all(w.startswith(f"warning: {changed}:") for w in warnings)
    assert "wallet.error_rate, wallet.p95 (required: false) will never be judged" in err
    assert load_pipeline(path).warnings == tuple(w.removeprefix("warning: ") for w in warnings)


@pytest.mark.parametrize("metrics", ["{type: embedded}", "{type: replay, path: r.jsonl}"])
def test_sources_with_route_classes_take_the_shipped_policy(cli, tmp_path, metrics):
    code, _, err = cli(
        "policy", "validate", str(pipeline(tmp_path, SHIPPED, metrics)), "-o", "text"
    )
    assert (code, err) == (0, "")


def test_an_all_only_policy_validates_on_cloudwatch(cli, tmp_path):
    policy = yaml.safe_load(SHIPPED.read_text(encoding="utf-8"))
    policy["slos"] = {"all": policy["slos"]["all"]}
    only_all = tmp_path / "policy.yaml"
    only_all.write_text(yaml.safe_dump(policy, sort_keys=False), encoding="utf-8")
    code, out, err = cli("policy", "validate", str(pipeline(tmp_path, only_all)), "-o", "text")
    assert (code, err) == (0, "") and "ok: " in out
