"""The CI and reusable deploy workflows: permissions, pinning, injection safety, and the
deploy step's exit-code mapping (its real bash script, run with a stand-in canaryctl)."""

from __future__ import annotations

import re
from typing import Any

import pytest

SHA_PIN = re.compile(r"^[\w.-]+/[\w.-]+(/[\w./-]+)?@[0-9a-f]{40}$")


def _steps(doc: dict[str, Any]) -> list[dict[str, Any]]:
    return [s for job in doc["jobs"].values() for s in job.get("steps", [])]


def _deploy_step(workflow: Any) -> dict[str, Any]:
    (step,) = [s for s in _steps(workflow("deploy.yml")) if s.get("id") == "deploy"]
    return step


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_every_action_is_pinned_by_sha(workflow: Any, name: str) -> None:
    uses = [s["uses"] for s in _steps(workflow(name)) if "uses" in s]
    assert uses and all(SHA_PIN.match(u) for u in uses), uses


@pytest.mark.parametrize("name", ["ci.yml", "deploy.yml"])
def test_no_expression_is_spliced_into_a_script(workflow: Any, name: str) -> None:
    scripts = [s["run"] for s in _steps(workflow(name)) if "run" in s]
    assert scripts and not [s for s in scripts if "${{" in s]


def test_ci_runs_make_test_with_read_only_permissions(workflow: Any) -> None:
    doc = workflow("ci.yml")
    assert set(doc["on"]) == {"push", "pull_request"}
    assert doc["permissions"] == {"contents": "read"}
    assert any(s.get("run") == "make test" for s in _steps(doc))


def test_deploy_is_reusable_with_its_inputs(workflow: Any) -> None:
    call = workflow("deploy.yml")["on"]["workflow_call"]
    assert {"service", "version", "image", "environment", "pipeline", "role-to-assume"} <= set(
        call["inputs"]
    )
    assert {"outcome", "exit-code"} <= set(call["outputs"])


def test_deploy_permissions_and_concurrency(workflow: Any) -> None:
    doc = workflow("deploy.yml")
    assert doc["permissions"] == {}
    (job,) = doc["jobs"].values()
    assert job["permissions"] == {"id-token": "write", "contents": "read"}
    assert job["environment"] == "${{ inputs.environment }}"
    assert "inputs.service" in job["concurrency"]["group"]
    assert job["concurrency"]["cancel-in-progress"] is False


def test_deploy_uses_oidc_and_no_stored_keys(workflow: Any) -> None:
    doc = workflow("deploy.yml")
    (aws,) = [s for s in _steps(doc) if "configure-aws-credentials" in s.get("uses", "")]
    assert aws["with"]["role-to-assume"] == "${{ inputs.role-to-assume }}"
    assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws["with"])
    assert "secrets" not in doc["on"]["workflow_call"]


def test_record_is_uploaded_even_when_the_canary_fails(workflow: Any) -> None:
    (upload,) = [
        s for s in _steps(workflow("deploy.yml")) if "upload-artifact" in s.get("uses", "")
    ]
    assert upload["if"] == "always()" and upload["with"]["path"] == "record.json"


BASE_ENV = {
    "SERVICE": "gamebackend",
    "VERSION": "1.4.0",
    "IMAGE": "",
    "PIPELINE": "pipelines/gamebackend-ecs.yaml",
    "TARGET_ENV": "staging",
}


@pytest.mark.parametrize(
    ("code", "outcome", "annotation", "job_ok"),
    [
        (0, "promoted", "::notice title=canary promoted::", True),
        (3, "rolled-back", "::error title=canary rolled back::", False),
        (4, "paused", "::warning title=canary needs a person::", True),
        (5, "locked", "::error title=deployment locked::", False),
        (2, "invalid", "::error title=invalid input::", False),
        (1, "failed", "::error title=canary deploy failed::", False),
    ],
)
def test_exit_codes_map_to_outcome_annotation_and_result(
    workflow: Any, run_step: Any, code: int, outcome: str, annotation: str, job_ok: bool
) -> None:
    step = _deploy_step(workflow)
    assert set(step["env"]) == set(BASE_ENV)
    run = run_step(step["run"], BASE_ENV, code)
    assert run.outputs["outcome"] == outcome
    assert run.outputs["exit-code"] == str(code)
    assert annotation in run.stdout
    assert (run.returncode == 0) is job_ok
    assert run.canaryctl_argv == [
        "deploy",
        "--pipeline",
        "pipelines/gamebackend-ecs.yaml",
        "--version",
        "1.4.0",
        "--output",
        "json",
        "--yes",
    ]


def test_image_input_sets_the_image_and_names_the_version(workflow: Any, run_step: Any) -> None:
    image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/gamebackend:2.0.1"
    run = run_step(_deploy_step(workflow)["run"], {**BASE_ENV, "VERSION": "", "IMAGE": image}, 0)
    assert run.canaryctl_argv is not None
    assert run.canaryctl_argv[run.canaryctl_argv.index("--version") + 1] == "2.0.1"
    assert run.canaryctl_argv[-2:] == ["--set", f"platform.image={image}"]


def test_hostile_input_is_passed_as_data_not_run(
    workflow: Any, run_step: Any, tmp_path: Any
) -> None:
    hostile = '1.0"; touch pwned; echo "$(touch pwned2)'
    run = run_step(_deploy_step(workflow)["run"], {**BASE_ENV, "VERSION": hostile}, 0)
    assert run.canaryctl_argv is not None and hostile in run.canaryctl_argv
    assert not (tmp_path / "pwned").exists() and not (tmp_path / "pwned2").exists()


def test_missing_version_and_image_is_refused(workflow: Any, run_step: Any) -> None:
    run = run_step(_deploy_step(workflow)["run"], {**BASE_ENV, "VERSION": ""}, 0)
    assert run.returncode != 0 and run.canaryctl_argv is None
    assert run.outputs["outcome"] == "invalid" and "::error" in run.stdout


def test_input_cannot_inject_a_workflow_command(workflow: Any, run_step: Any) -> None:
    hostile = "1.0\n::error title=fake::injected"
    run = run_step(_deploy_step(workflow)["run"], {**BASE_ENV, "VERSION": hostile}, 3)
    lines = run.stdout.splitlines()
    assert not [ln for ln in lines if ln.startswith("::error title=fake")]
    assert any("1.0%0A::error title=fake::injected" in ln for ln in lines)
