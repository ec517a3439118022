"""staging's and production's ``moved`` blocks, run through real Terraform.

Until modules/service_environment existed, each AWS environment called the platform's modules
itself (``module.kms``, ``module.data``, ...); now it calls that one module
(``module.environment``), so every resource's address in the state changed. Its moved.tf must
carry a state written before the change to the new addresses with nothing destroyed: without
it, ``canaryctl env up production`` would plan to replace the database.

No AWS provider can be downloaded here, so each module is stood in for by one of the same name
holding a ``terraform_data``. The addresses are the real ones: the previous module calls
(history, fixed below), the environment's module call and the wrapper's module calls as the
repository has them now, and the environment's moved.tf verbatim.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from canaryctl.infra.embedded import EmbeddedTerraform
from canaryctl.infra.runner import TfResult

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[3]
# The module calls of staging's and production's main.tf before the environment module.
PREVIOUS_CALLS = [
    "kms",
    "network",
    "alb",
    "observability",
    "ecs_service",
    "data",
    "state_bucket",
    "github_oidc",
]
_CALL = re.compile(r'(?m)^module "(\w+)"')


def _calls(path: Path) -> list[str]:
    return _CALL.findall(path.read_text())


def _module_calls(names: list[str], prefix: str) -> str:
    return "".join(f'module "{n}" {{\n  source = "{prefix}stub"\n}}\n' for n in names)


def _migrate(root: Path, env: str, moved: str) -> TfResult:
    """Apply the previous layout's stand-in, switch to the current one with ``moved`` as
    moved.tf, and return the plan."""
    tf = EmbeddedTerraform()
    (root / "stub").mkdir(parents=True)
    (root / "stub" / "main.tf").write_text('resource "terraform_data" "this" {}\n')
    (root / "main.tf").write_text(_module_calls(PREVIOUS_CALLS, "./"))
    assert tf.init(root, backend_config=[]).returncode == 0
    applied = tf.apply(root, variables={})
    assert applied.returncode == 0 and f"{len(PREVIOUS_CALLS)} added" in applied.stdout

    wrapper = REPO / "terraform" / "modules" / "service_environment" / "main.tf"
    (root / "wrapper").mkdir()
    (root / "wrapper" / "main.tf").write_text(_module_calls(_calls(wrapper), "../"))
    [call] = _calls(REPO / "terraform" / "environments" / env / "main.tf")
    (root / "main.tf").write_text(f'module "{call}" {{\n  source = "./wrapper"\n}}\n')
    (root / "moved.tf").write_text(moved)
    assert tf.init(root, backend_config=[]).returncode == 0
    return tf.plan(root, variables={})


@pytest.fixture
def moved_tf() -> Callable[[str], str]:
    return lambda env: (REPO / "terraform" / "environments" / env / "moved.tf").read_text()


@pytest.mark.parametrize("env", ["staging", "production"])
def test_a_state_from_before_moves_without_replacing_anything(
    env: str, tmp_path: Path, moved_tf: Callable[[str], str]
) -> None:
    plan = _migrate(tmp_path, env, moved_tf(env))
    assert plan.returncode in (0, 2), plan.stderr  # 2: the plan has changes (the moves)
    assert "Plan: 0 to add, 0 to change, 0 to destroy." in plan.stdout, plan.stdout
    for name in PREVIOUS_CALLS:
        assert f"# module.{name}.terraform_data.this has moved to" in plan.stdout


@pytest.mark.parametrize(
    ("old", "new"),
    [
        ("moved {\n  from = module.data\n  to   = module.environment.module.data\n}\n", ""),
        ("to   = module.environment.module.kms\n", "to   = module.environment.module.key\n"),
    ],
)
def test_a_missing_or_wrong_move_shows_as_a_replacement(
    old: str, new: str, tmp_path: Path, moved_tf: Callable[[str], str]
) -> None:
    text = moved_tf("staging")
    assert old in text, f"mutation target not in staging/moved.tf: {old!r}"
    plan = _migrate(tmp_path, "staging", text.replace(old, new, 1))
    assert plan.returncode == 2, plan.stderr
    assert "Plan: 1 to add, 0 to change, 1 to destroy." in plan.stdout, plan.stdout
