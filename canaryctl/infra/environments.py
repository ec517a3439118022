"""Terraform environments: ``terraform/environments/<name>`` directories, and what
``canaryctl env plan|up|down|outputs`` does in them.

Every operation runs ``terraform init`` first (idempotent), with ``-backend-config=backend.hcl``
when that file sits in the environment's directory, so the S3 bucket of the remote state is
configured per account without editing the code. ``terraform.tfvars`` is read by Terraform
itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canaryctl.errors import InvalidInput, PlatformError
from canaryctl.infra.runner import Terraform, TfResult, select_terraform

__all__ = [
    "DEFAULT_ROOT",
    "Environment",
    "OperationResult",
    "TerraformFailed",
    "find_environment",
    "known_environments",
    "parse_vars",
]

DEFAULT_ROOT = Path("terraform/environments")
BACKEND_CONFIG = "backend.hcl"
_VAR_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")
_ERROR_LINE = re.compile(r"Error:\s*(.+)")


def known_environments(root: Path) -> list[str]:
    """Names of the directories under ``root`` that hold Terraform files."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if p.is_dir() and any(p.glob("*.tf")))


def find_environment(name: str, root: Path = DEFAULT_ROOT) -> Environment:
    """The environment ``name`` under ``root``; unknown names are refused (exit 2)."""
    directory = root / name
    if "/" in name or name in {"", ".", ".."} or not any(directory.glob("*.tf")):
        known = ", ".join(known_environments(root)) or "none"
        raise InvalidInput(
            f"unknown environment {name!r}: no Terraform files in {directory}/ (known: {known})"
        )
    return Environment(name=name, directory=directory)


def parse_vars(pairs: list[str]) -> dict[str, str]:
    """``["replicas=3"]`` → ``{"replicas": "3"}``; a malformed pair names itself."""
    out: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not _VAR_NAME.match(key):
            raise InvalidInput(f"--var: expected NAME=VALUE, got {pair!r}")
        out[key] = value
    return out


def _summary(res: TfResult) -> str:
    """The first ``Error:`` line of Terraform's diagnostics, else its last line."""
    text = f"{res.stderr}\n{res.stdout}"
    match = _ERROR_LINE.search(text)
    if match:
        return match.group(1).strip()
    lines = [ln.strip("│╷╵ ").strip() for ln in text.splitlines() if ln.strip("│╷╵ ").strip()]
    return lines[-1] if lines else f"exit code {res.returncode}"


class TerraformFailed(PlatformError):
    """A Terraform command exited non-zero. ``detail`` keeps its full diagnostics."""

    def __init__(self, message: str, code: str, detail: str) -> None:
        super().__init__(message, code=code)
        self.detail = detail


@dataclass
class OperationResult:
    """What an env operation did: the Terraform run's text and the outputs afterwards."""

    environment: str
    action: str
    terraform: dict[str, str]
    log: str = ""
    changes: bool | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    sensitive: frozenset[str] = frozenset()


@dataclass
class Environment:
    """One Terraform environment directory."""

    name: str
    directory: Path
    terraform: Terraform | None = None

    @property
    def tf(self) -> Terraform:
        if self.terraform is None:
            self.terraform = select_terraform()
        return self.terraform

    def _check(self, action: str, res: TfResult, ok: tuple[int, ...] = (0,)) -> TfResult:
        if res.returncode not in ok:
            raise TerraformFailed(
                f"terraform {action} failed in {self.directory}: {_summary(res)}",
                code=f"terraform-exit-{res.returncode}",
                detail=f"{res.stdout}\n{res.stderr}".strip(),
            )
        return res

    def _result(self, action: str, log: str = "") -> OperationResult:
        return OperationResult(self.name, action, {"kind": self.tf.kind}, log=log)

    def init(self) -> None:
        backend = [BACKEND_CONFIG] if (self.directory / BACKEND_CONFIG).is_file() else []
        self._check("init", self.tf.init(self.directory, backend_config=backend))

    def plan(self, variables: dict[str, str]) -> OperationResult:
        self.init()
        res = self._check("plan", self.tf.plan(self.directory, variables=variables), ok=(0, 2))
        result = self._result("plan", res.stdout)
        result.changes = res.returncode == 2  # -detailed-exitcode
        return result

    def up(self, variables: dict[str, str]) -> OperationResult:
        self.init()
        res = self._check("apply", self.tf.apply(self.directory, variables=variables))
        return self._with_outputs(self._result("up", res.stdout))

    def down(self, variables: dict[str, str]) -> OperationResult:
        self.init()
        res = self._check("destroy", self.tf.destroy(self.directory, variables=variables))
        return self._result("down", res.stdout)

    def outputs(self) -> OperationResult:
        self.init()
        return self._with_outputs(self._result("outputs"))

    def output_values(self) -> dict[str, Any]:
        """The outputs as ``{name: value}`` (after ``init``)."""
        return self.outputs().outputs

    def _with_outputs(self, result: OperationResult) -> OperationResult:
        raw = self.tf.output(self.directory)
        result.outputs = {k: v.get("value") for k, v in raw.items()}
        result.sensitive = frozenset(k for k, v in raw.items() if v.get("sensitive"))
        return result
