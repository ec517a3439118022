"""A system ``terraform`` binary, driven through python-terraform.

python-terraform (0.10.1, 2019) still speaks Terraform 0.12: its ``destroy()`` passes
``-force``, which Terraform removed in 0.15 ("flag provided but not defined"). ``SafeTerraform``
keeps every removed flag from reaching the binary: destroy runs as the modern equivalent
``apply -destroy -auto-approve``, and the command line is checked once more just before it
is executed, so a future call path cannot slip one through either.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, Terraform

from canaryctl.errors import PlatformError
from canaryctl.infra.runner import TfResult

__all__ = ["REMOVED_FLAGS", "SafeTerraform", "SystemTerraform"]

# Flags python-terraform may emit that modern Terraform rejects (removed in 0.15).
REMOVED_FLAGS = frozenset({"-force"})


def _flag_name(arg: str) -> str:
    return arg.split("=", 1)[0]


class SafeTerraform(Terraform):
    """python-terraform with the flags modern Terraform removed kept out."""

    def destroy(self, dir_or_plan: str | None = None, **kwargs: Any) -> tuple[int, str, str]:
        # `destroy -force` is gone; `apply -destroy -auto-approve` is the same operation.
        kwargs.pop("force", None)
        kwargs["destroy"] = IsFlagged
        kwargs["auto_approve"] = IsFlagged
        options = self._generate_default_options(kwargs)
        args = self._generate_default_args(dir_or_plan)
        result: tuple[int, str, str] = self.cmd("apply", *args, **options)
        return result

    def generate_cmd_string(self, cmd: str, *args: Any, **kwargs: Any) -> list[str]:
        argv: list[str] = super().generate_cmd_string(cmd, *args, **kwargs)
        removed = sorted({_flag_name(a) for a in argv[1:]} & REMOVED_FLAGS)
        if removed:
            raise PlatformError(
                f"refusing to run terraform {cmd} with {', '.join(removed)}: "
                "removed from Terraform in 0.15"
            )
        return argv


class SystemTerraform:
    """The ``Terraform`` protocol over a system binary."""

    kind = "system"

    def __init__(self, binary: str) -> None:
        self.binary = binary

    def _tf(self, cwd: Path | None = None) -> SafeTerraform:
        return SafeTerraform(working_dir=str(cwd) if cwd else None, terraform_bin_path=self.binary)

    def version(self) -> str:
        code, out, err = self._tf().cmd("version", json=IsFlagged)
        if code != 0:
            raise PlatformError(f"{self.binary} version failed: {(err or out).strip()[:200]}")
        try:
            return str(json.loads(out)["terraform_version"])
        except (ValueError, KeyError):
            return out.splitlines()[0] if out else ""  # older binaries print a banner

    def init(self, cwd: Path, *, backend_config: list[str]) -> TfResult:
        # python-terraform's init wants backend config as a dict (key=value pairs); a file
        # is passed as a plain option instead.
        options: dict[str, Any] = {"input": False, "no_color": IsFlagged}
        if backend_config:
            options["backend_config"] = backend_config
        return TfResult(*self._tf(cwd).cmd("init", **options))

    def plan(self, cwd: Path, *, variables: dict[str, str]) -> TfResult:
        tf = self._tf(cwd)
        return TfResult(*tf.plan(var=variables or None, detailed_exitcode=IsFlagged))

    def apply(self, cwd: Path, *, variables: dict[str, str]) -> TfResult:
        tf = self._tf(cwd)
        return TfResult(*tf.apply(var=variables or None, skip_plan=True))

    def destroy(self, cwd: Path, *, variables: dict[str, str]) -> TfResult:
        return TfResult(*self._tf(cwd).destroy(var=variables or None))

    def output(self, cwd: Path) -> dict[str, Any]:
        code, out, err = self._tf(cwd).cmd("output", json=IsFlagged, no_color=IsFlagged)
        if code != 0:
            raise PlatformError(f"terraform output failed in {cwd}: {err.strip()[:300]}")
        value: dict[str, Any] = json.loads(out or "{}")
        return value

    def fmt_check(self, path: Path) -> TfResult:
        tf = self._tf()
        return TfResult(*tf.cmd("fmt", str(path), check=IsFlagged, recursive=IsFlagged))
