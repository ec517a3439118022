"""Fixtures for the workflow tests: the parsed workflows and a way to run a step's script."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

WORKFLOWS = Path(__file__).resolve().parents[3] / ".github" / "workflows"


def _load(name: str) -> dict[str, Any]:
    doc = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    if True in doc:
        doc["on"] = doc.pop(True)
    return doc


@pytest.fixture(scope="session")
def workflow() -> Callable[[str], dict[str, Any]]:
    return _load


@dataclass
class StepRun:
    returncode: int
    stdout: str
    outputs: dict[str, str]
    canaryctl_argv: list[str] | None


@pytest.fixture
def run_step(tmp_path: Path) -> Callable[..., StepRun]:
    """Run a workflow step's bash script as GitHub does (bash -eo pipefail) with a stand-in
    `canaryctl` that exits ``code``.

    The stand-in records its argv and prints a JSON record, as canaryctl does with
    ``--output json``; GITHUB_OUTPUT is a temporary file read back afterwards.
    """

    def run(script: str, env: dict[str, str], code: int) -> StepRun:
        bindir = tmp_path / "bin"
        bindir.mkdir(exist_ok=True)
        argv_file = tmp_path / "argv.json"
        fake = bindir / "canaryctl"
        fake.write_text(
            f"#!{sys.executable}\n"
            "import json, sys\n"
            f"open({str(argv_file)!r}, 'w').write(json.dumps(sys.argv[1:]))\n"
            "print(json.dumps({'status': 'x'}))\n"
            f"sys.exit({code})\n"
        )
        fake.chmod(fake.stat().st_mode | stat.S_IXUSR)
        out_file = tmp_path / "github_output"
        out_file.write_text("")
        full_env = {
            "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}",
            "GITHUB_OUTPUT": str(out_file),
            **env,
        }
        proc = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
            cwd=tmp_path,
            env=full_env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        outputs = dict(
            line.split("=", 1) for line in out_file.read_text().splitlines() if "=" in line
        )
        argv = json.loads(argv_file.read_text()) if argv_file.exists() else None
        return StepRun(proc.returncode, proc.stdout, outputs, argv)

    return run
