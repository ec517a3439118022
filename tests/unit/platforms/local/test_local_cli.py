"""Bad flags of `canaryctl sandbox` and `canaryctl load`: one line naming the flag, exit 2."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CANARYCTL = str(Path(sys.executable).with_name("canaryctl"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sandbox", "up", "--replicas", "0"], "--replicas: must be 1..16, got 0"),
        (["sandbox", "up", "--version", "v 2"], "--version: 'v 2' is not a valid version label"),
        (["sandbox", "up", "--port", "70000"], "--port: must be 0..65535, got 70000"),
        (["sandbox", "status"], "no sandbox running in"),
        (["load", "--profile", "flat"], "--profile: unknown 'flat'"),
        (["load", "--duration", "5x"], "--duration: invalid duration '5x'"),
        (["load", "--rps", "0"], "--rps: must be in (0, 20000], got 0"),
        (["load", "--target", "http://192.0.2.1:80"], "--target: 192.0.2.1 is not a loopback"),
        (["load", "--target", "127.0.0.1:8080"], "--target: expected an http:// or https:// URL"),
        (["load", "--max-requests", "0"], "--max-requests: must be at least 1, got 0"),
        (["load", "--runner", "gatling"], "--runner: canaryctl or k6, got 'gatling'"),
        (["load", "--script", "x.js"], "--script: a k6 script runs on k6: add --runner k6"),
        (["load", "--runner", "k6", "--script", "/nope.js"], "--script: no k6 script at /nope.js"),
        (
            ["load", "--runner", "k6", "--ws-players", "5"],
            "--ws-players: canaryctl's own generator",
        ),
        (
            ["load", "--emit-k6", "/nonexistent-dir/x.js"],
            "--emit-k6: cannot write /nonexistent-dir",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str):
    if args[0] == "sandbox":
        args = [*args, "--dir", str(tmp_path / "sb")]
    proc = subprocess.run([CANARYCTL, *args], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
