"""``canaryctl env up|outputs|plan|down local`` running real Terraform."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from canaryctl.config import LocalPlatformConfig, load_pipeline
from canaryctl.infra.outputs import TerraformOutputs, resolve

pytestmark = pytest.mark.integration


def test_up_outputs_down(canaryctl: Any, terraform_setup: Any, local_envs: Path) -> None:
    env, root = terraform_setup.env, str(local_envs)
    flags = ["--environments", root, "--output", "json"]
    up = canaryctl(
        "env", "up", "local", *flags, "--var", "router_port=18080", "--var", "replicas=3", env=env
    )
    assert up.returncode == 0, up.stderr
    doc = up.json()
    assert doc["terraform"]["kind"] == terraform_setup.kind
    assert doc["outputs"]["router_url"] == "http://127.0.0.1:18080"
    assert doc["outputs"]["replicas"] == 3
    assert doc["outputs"]["canaryctl_local"] == {"sandbox": ".sandbox", "healthTimeout": "60s"}
    assert (local_envs / "local" / "terraform.tfstate").is_file()

    outputs = canaryctl("env", "outputs", "local", *flags, env=env)
    assert outputs.returncode == 0, outputs.stderr
    assert outputs.json()["outputs"] == doc["outputs"]

    text = canaryctl("env", "outputs", "local", "--environments", root, env=env)
    assert "router_url" in text.stdout and "http://127.0.0.1:18080" in text.stdout

    down = canaryctl("env", "down", "local", *flags, env=env)
    assert down.returncode == 0, down.stderr
    assert "1 destroyed" in down.json()["log"]
    after = canaryctl("env", "outputs", "local", *flags, env=env)
    assert after.returncode == 0 and after.json()["outputs"] == {}

    if terraform_setup.kind == "system":
        commands = terraform_setup.argv()
        assert not any("-force" in argv for argv in commands)
        destroys = [a for a in commands if "-destroy" in a]
        assert destroys and all(a[0] == "apply" and "-auto-approve" in a for a in destroys)


def test_plan_reports_changes_then_none(
    canaryctl: Any, terraform_setup: Any, local_envs: Path
) -> None:
    env, flags = terraform_setup.env, ["--environments", str(local_envs), "-o", "json"]
    first = canaryctl("env", "plan", "local", *flags, env=env)
    assert first.returncode == 0, first.stderr
    assert first.json()["changes"] is True and "1 to add" in first.json()["log"]
    assert canaryctl("env", "up", "local", *flags, env=env).returncode == 0
    again = canaryctl("env", "plan", "local", *flags, env=env)
    assert again.json()["changes"] is False


def test_invalid_variable_fails_with_terraforms_reason(
    canaryctl: Any, terraform_setup: Any, local_envs: Path
) -> None:
    run = canaryctl(
        "env",
        "up",
        "local",
        "--environments",
        str(local_envs),
        "--var",
        "router_port=70000",
        env=terraform_setup.env,
    )
    assert run.returncode == 1
    last = run.stderr.strip().splitlines()[-1]
    assert (
        last.startswith("error: terraform apply failed in") and "Invalid value for variable" in last
    )
    assert "router_port must be between 1 and 65535" in run.stderr  # Terraform's diagnostics


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["env", "up", "qa"], "no Terraform files in"),
        (["env", "up", "local", "--var", "replicas"], "--var: expected NAME=VALUE"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    canaryctl: Any, terraform_setup: Any, local_envs: Path, args: list[str], needle: str
) -> None:
    run = canaryctl(*args, "--environments", str(local_envs), env=terraform_setup.env)
    assert run.returncode == 2
    assert needle in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert "Traceback" not in run.stderr


def test_pipeline_takes_identifiers_from_the_outputs(
    canaryctl: Any, embedded_terraform: Any, local_envs: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    flags = ["--environments", str(local_envs)]
    up = canaryctl(
        "env", "up", "local", *flags, "--var", "state_dir=.sb", env=embedded_terraform.env
    )
    assert up.returncode == 0, up.stderr
    monkeypatch.setenv("CANARYCTL_TERRAFORM", "embedded")
    pipeline = {
        "service": "gamebackend",
        "platform": {"type": "local", "fromEnvironment": "local", "healthTimeout": "30s"},
        "hooks": {"load": {"target": "${env.local.outputs.router_url}/v1/players"}},
    }
    resolved = resolve(pipeline, TerraformOutputs(local_envs))
    assert resolved["platform"] == {"type": "local", "sandbox": ".sb", "healthTimeout": "30s"}
    assert resolved["hooks"]["load"]["target"] == "http://127.0.0.1:8080/v1/players"


LOCAL_PIPELINE = """\
apiVersion: canaryctl/v1
kind: Pipeline
service: gamebackend
policy: policy.yaml
platform:
  type: local
  fromEnvironment: local
metrics: {type: embedded}
steps:
  - setWeight: 10
  - analyze: {}
  - promote: {}
hooks:
  duringAnalysis:
    - load: {rps: 20, url: "${env.local.outputs.router_url}/"}
"""


def test_a_pipeline_uses_the_outputs_of_env_up_local(
    canaryctl: Any,
    embedded_terraform: Any,
    local_envs: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    env = {**embedded_terraform.env, "CANARYCTL_ENVIRONMENTS": str(local_envs)}
    up = canaryctl(
        "env",
        "up",
        "local",
        *("--var", "state_dir=.sb", "--var", "router_port=18081", "--var", "health_timeout=45s"),
        env=env,
    )
    assert up.returncode == 0, up.stderr
    repo = Path(__file__).resolve().parents[3]
    (tmp_path / "policy.yaml").write_text((repo / "policies" / "gamebackend.yaml").read_text())
    (tmp_path / "pipeline.yaml").write_text(LOCAL_PIPELINE)

    # The CLI resolves through real Terraform (in $CANARYCTL_ENVIRONMENTS) ...
    checked = canaryctl("policy", "validate", "pipeline.yaml", "-o", "json", env=env)
    assert checked.returncode == 0, checked.stderr
    assert checked.json()[0]["valid"] is True
    # ... and the loaded pipeline holds the environment's values, literally.
    monkeypatch.setenv("CANARYCTL_TERRAFORM", "embedded")
    loaded = load_pipeline(tmp_path / "pipeline.yaml", environments=local_envs)
    assert loaded.pipeline.platform == LocalPlatformConfig(sandbox=".sb", health_timeout=45.0)
    assert loaded.plan.health_timeout_s == 45.0
    assert loaded.plan.load_hooks[0].url == "http://127.0.0.1:18081/"
    assert loaded.snapshot()["pipeline"]["platform"] == {
        "type": "local",
        "sandbox": ".sb",
        "healthTimeout": 45.0,
    }

    down = canaryctl("env", "down", "local", env=env)
    assert down.returncode == 0, down.stderr
    gone = canaryctl("policy", "validate", "pipeline.yaml", env=env)
    assert gone.returncode == 2
    assert gone.stderr.strip() == (
        "error: pipeline.yaml:7: platform.fromEnvironment: environment 'local' has no output "
        "'canaryctl_local' (outputs: none: run `canaryctl env up local`)"
    )
