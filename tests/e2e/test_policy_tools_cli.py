"""The policy author's tools as a user runs them: the installed ``canaryctl`` as a separate
process, on the shipped recordings, and recording a real sandbox (real backend processes behind
the weighted router, a canary with injected errors, canaryctl's load generator) for a backtest.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from canaryctl.metrics.replay import parse_lines

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
RECORDINGS = ROOT / "recordings"
CANARYCTL = str(Path(sys.executable).with_name("canaryctl"))


def canaryctl(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CANARYCTL, *args], capture_output=True, text=True, timeout=timeout, cwd=ROOT
    )


@pytest.mark.parametrize(
    ("recording", "code"),
    [("good", 0), ("error-regression", 3), ("latency-regression", 3), ("tail-regression", 3),
     ("low-traffic", 4), ("sandbox-errors-5pct", 3)],
)  # fmt: skip
def test_backtests_of_the_shipped_recordings(recording, code):
    started = time.monotonic()
    done = canaryctl(
        "policy", "backtest", "recordings/sequential-policy.yaml",
        "--metrics", f"recordings/{recording}.jsonl", "--output", "json",
    )  # fmt: skip
    assert done.returncode == code, done.stderr
    data = json.loads(done.stdout)
    assert data["exit_code"] == code and data["timeline"]
    # a 3-minute recording replays in a few seconds at most, process start included
    assert time.monotonic() - started < 30


def test_shipped_recordings_are_reproducible(tmp_path):
    done = subprocess.run(
        [sys.executable, str(RECORDINGS / "generate.py"), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    for made in sorted(tmp_path.glob("*.jsonl")):
        assert made.read_text() == (RECORDINGS / made.name).read_text(), made.name


# --- recording a real sandbox --------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def sandbox() -> Iterator[dict[str, str]]:
    """A detached sandbox (1 stable process of v1); its directory lives outside pytest's temp
    root because the embedded PostgreSQL may run as another user (see the local tests)."""
    base = Path(tempfile.mkdtemp(prefix="canaryctl-record-e2e-"))
    directory = base / ".sandbox"
    up = canaryctl("sandbox", "up", "--detach", "--dir", str(directory),
                   "--port", str(_free_port()), "--replicas", "1", timeout=240)  # fmt: skip
    assert up.returncode == 0, up.stdout + up.stderr
    try:
        info = json.loads((directory / "sandbox.json").read_text())
        yield {**info, "dir": str(directory)}
    finally:
        down = canaryctl("sandbox", "down", "--dir", str(directory), timeout=120)
        shutil.rmtree(base, ignore_errors=True)
        assert down.returncode == 0, down.stderr


def _start_bad_canary(info: dict[str, str]) -> None:
    """v2 with 5% injected errors, healthy, taking half of the traffic."""
    headers = {"X-Sandbox-Token": info["token"]}
    control = info["control_url"]
    body = {"version": "v2", "env": {"GAMEBACKEND_FAULTS": "errors=0.05"}}
    assert httpx.post(f"{control}/v1/tasksets", json=body, headers=headers, timeout=30).is_success
    deadline = time.monotonic() + 90
    while True:
        state = httpx.get(f"{control}/v1/state", timeout=10).json()
        if (state.get("canary") or {}).get("healthy"):
            break
        assert time.monotonic() < deadline, state
        time.sleep(0.25)
    weights = {"stable": 50, "canary": 50}
    assert httpx.put(f"{control}/v1/weights", json=weights, headers=headers, timeout=30).is_success


def test_record_a_sandbox_canary_and_backtest_the_recording(sandbox, tmp_path):
    _start_bad_canary(sandbox)
    load = subprocess.Popen(
        [CANARYCTL, "load", "--target", sandbox["router_url"], "--rps", "60",
         "--duration", "12s", "--seed", "3"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        time.sleep(1.0)
        recorded = canaryctl(
            "policy", "record", "--source", "embedded", "--sandbox", sandbox["dir"],
            "--duration", "6s", "--routes", "wallet,players",
        )  # fmt: skip
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(load.pid, signal.SIGTERM)
        load.wait(15)
    assert recorded.returncode == 0, recorded.stderr
    assert "recorded" in recorded.stderr and "over 6s (6 intervals)" in recorded.stderr
    path = tmp_path / "sandbox.jsonl"
    path.write_text(recorded.stdout)
    intervals = parse_lines(recorded.stdout.splitlines(), str(path))
    totals = {
        target: [i for i in intervals if str(i.target) == target and i.route_class is None]
        for target in ("stable", "canary")
    }
    assert all(totals.values())  # both versions served traffic
    assert {i.t for i in intervals} <= {1, 2, 3, 4, 5, 6}
    assert sum(i.stats.errors for i in totals["canary"]) > 0  # the injected 5%

    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "apiVersion: canaryctl/v1\nkind: Policy\n"
        "analysis: {interval: 1s, window: 6s, minRequests: 5, failureLimit: 1, judge: threshold}\n"
        "slos:\n  all:\n    errorRate: {max: 1%}\n"
    )
    done = canaryctl("policy", "backtest", str(policy), "--metrics", str(path), "-o", "text")
    assert done.returncode == 3, done.stdout + done.stderr
    assert "ROLL BACK — all.error_rate failed 1 checks (limit 1)" in done.stdout
