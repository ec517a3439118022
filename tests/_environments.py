"""Pytest plugin: Terraform environments whose outputs are those of an applied staging and
production (``tests/fixtures/environments/<name>.json``), read by real Terraform.

Registered by ``tests/conftest.py`` (``pytest_plugins``); received through fixtures only:

- ``terraform_environments(overrides=None)`` → a directory holding ``staging/`` and
  ``production/``, each a Terraform working directory (``main.tf`` and a local
  ``terraform.tfstate`` in Terraform's own state format, version 4) whose ``terraform output``
  gives the fixture's outputs, with ``overrides = {"staging": {"cluster": ...}}`` merged in
  (a test pointing a pipeline at moto's ARNs replaces them here). Point canaryctl at it with
  ``CANARYCTL_ENVIRONMENTS`` (``environments_env``), and the embedded Terraform reads it:
  ``fromEnvironment`` and ``${env.NAME.outputs.KEY}`` resolve exactly as after
  ``canaryctl env up``, with no provider and no network.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

__all__ = ["ENVIRONMENT_FIXTURES", "cty_type", "terraform_environments", "write_environment"]

ENVIRONMENT_FIXTURES = Path(__file__).resolve().parent / "fixtures" / "environments"

_MAIN_TF = """\
# A fixture environment: its outputs are in terraform.tfstate, written by tests/_environments.py
# as an apply of terraform/environments/{name} would leave them (no provider, no resource).
terraform {{
  required_version = ">= 1.10"
}}
"""


def cty_type(value: Any) -> Any:
    """The type Terraform records for an output's value in its state (cty's JSON form)."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return ["tuple", [cty_type(v) for v in value]]
    if isinstance(value, Mapping):
        return ["object", {k: cty_type(v) for k, v in value.items()}]
    raise TypeError(f"no Terraform type for {value!r}")


def write_environment(root: Path, name: str, outputs: Mapping[str, Any]) -> Path:
    """``root/name`` as a Terraform working directory whose state holds ``outputs``."""
    directory = root / name
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "main.tf").write_text(_MAIN_TF.format(name=name), encoding="utf-8")
    state = {
        "version": 4,
        "terraform_version": "1.15.5",
        "serial": 1,
        "lineage": f"canaryctl-fixture-{name}",
        "outputs": {k: {"value": v, "type": cty_type(v)} for k, v in outputs.items()},
        "resources": [],
        "check_results": None,
    }
    (directory / "terraform.tfstate").write_text(json.dumps(state, indent=2), encoding="utf-8")
    return directory


def fixture_outputs(name: str) -> dict[str, Any]:
    """The outputs of the fixture environment ``name`` (staging or production)."""
    path = ENVIRONMENT_FIXTURES / f"{name}.json"
    return dict(json.loads(path.read_text(encoding="utf-8")))


@pytest.fixture
def terraform_environments(
    tmp_path: Path,
) -> Callable[..., Path]:
    """``terraform_environments(overrides=None)`` → the environments root (see module doc)."""

    def build(overrides: Mapping[str, Mapping[str, Any]] | None = None) -> Path:
        root = tmp_path / "environments"
        for path in sorted(ENVIRONMENT_FIXTURES.glob("*.json")):
            outputs = {**fixture_outputs(path.stem), **(overrides or {}).get(path.stem, {})}
            write_environment(root, path.stem, outputs)
        return root

    return build
