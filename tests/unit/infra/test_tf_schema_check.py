"""scripts/tf_schema_check.py: the Terraform tree against the AWS provider's own schema
(cdktf-cdktf-provider-aws, generated from provider 6.25), as ``make lint-infra`` runs it.

The schema is built once from the PyPI package into the user cache (``make lint-infra`` does it
first on a fresh machine; the session fixture does the same when run alone).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]
SCRIPT = REPO / "scripts" / "tf_schema_check.py"


@pytest.fixture(scope="session")
def schema_ready() -> None:
    """Builds the cached schema (a pip download of the provider package) when it is missing."""
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(REPO / "terraform" / "environments" / "local")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr


def run(*paths: Path, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, str(SCRIPT), *map(str, paths)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=cwd)


def _copy(tmp_path: Path, module: str) -> Path:
    copy = tmp_path / "terraform" / "modules" / module
    shutil.copytree(REPO / "terraform" / "modules" / module, copy)
    return copy


def _edit(path: Path, old: str, new: str) -> int:
    """Replace ``old`` once; returns the 1-based line it was on."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1))
    return line


def test_the_real_tree_passes(schema_ready: Any) -> None:
    done = run(REPO / "terraform")
    assert (done.returncode, done.stdout) == (0, ""), done.stdout + done.stderr


def test_a_misspelled_argument_fails_naming_file_line_and_argument(
    schema_ready: Any, tmp_path: Path
) -> None:
    copy = _copy(tmp_path, "alb")
    line = _edit(copy / "main.tf", "  idle_timeout  ", "  idle_timout   ")
    done = run(tmp_path / "terraform", cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.splitlines() == [
        f'terraform/modules/alb/main.tf:{line}: aws_lb.this: unknown argument "idle_timout"'
    ]


def test_nested_blocks_are_checked_recursively(schema_ready: Any, tmp_path: Path) -> None:
    copy = _copy(tmp_path, "alb")
    main = copy / "main.tf"
    typo = _edit(main, "healthy_threshold   = 2", "healthy_threshould = 2")
    _edit(main, '    type = "forward"\n', "")
    unknown = _edit(main, "  access_logs {", "  access_log {")
    done = run(tmp_path / "terraform", cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 1
    path = "terraform/modules/alb/main.tf"
    assert f'{path}:{typo}: aws_lb_target_group.this: unknown argument "healthy_threshould"' in out
    assert 'aws_lb_listener.https: missing required argument "type" in default_action' in out
    assert f'{path}:{unknown}: aws_lb.this: unknown block "access_log"' in out


def test_dynamic_blocks_missing_arguments_and_unknown_types(
    schema_ready: Any, tmp_path: Path
) -> None:
    oidc = _copy(tmp_path, "github_oidc")
    sid = 'sid       = "TerraformOutputsRead"'
    _edit(oidc / "policy.tf", sid, sid.replace("sid ", "sidd"))
    ecs = _copy(tmp_path, "ecs_service")
    _edit(ecs / "main.tf", '  family                   = "${var.name}-${var.service_name}"\n', "")
    _edit(ecs / "main.tf", 'resource "aws_ecs_cluster" "this"', 'resource "aws_ecs_clustr" "this"')
    done = run(tmp_path / "terraform", cwd=tmp_path)
    out = done.stdout
    assert done.returncode == 1
    assert 'data.aws_iam_policy_document.deploy: unknown argument "sidd" in statement' in out
    assert 'aws_ecs_task_definition.this: missing required argument "family"' in out
    assert 'aws_ecs_clustr.this: unknown resource type "aws_ecs_clustr"' in out


def test_a_path_that_does_not_exist_is_invalid_input(schema_ready: Any, tmp_path: Path) -> None:
    done = run(tmp_path / "nowhere")
    assert done.returncode == 2 and "no such file or directory" in done.stderr
    assert "Traceback" not in done.stderr
