"""``make demo``: three canary releases of the reference backend on a local sandbox.

    python -m canaryctl.demo

Starts a sandbox in a temporary directory (v1 stable), then deploys with
``pipelines/gamebackend-local.yaml`` as shipped (the default sequential policy):

- ``v2``, a good release                                  → promoted     (exit 0)
- ``v3`` with ``GAMEBACKEND_FAULTS=errors=0.05``          → rolled back  (exit 3, error rate)
- ``v4`` with ``GAMEBACKEND_FAULTS=latency=400ms@0.3``    → rolled back  (exit 3, p95 latency)

prints a summary of the three, and always tears the sandbox down. Exit 0 when each release
ended as expected.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["Release", "main"]

ROOT = Path(__file__).resolve().parent.parent
PIPELINE = ROOT / "pipelines" / "gamebackend-local.yaml"
CANARYCTL = [sys.executable, "-m", "canaryctl"]
# The pipeline as shipped (the default policy, a 3-minute window, 300 requests/s of load):
# a bad release is rolled back within seconds; a good one is promoted once the evidence is in.
SETS: list[str] = []


@dataclass(frozen=True)
class Release:
    version: str
    env: tuple[str, ...]
    what: str
    expected: str  # the deployment's final status


RELEASES = (
    Release("v2", (), "a good release", "promoted"),
    Release("v3", ("GAMEBACKEND_FAULTS=errors=0.05",), "5% of answers are HTTP 500", "rolled_back"),
    Release(
        "v4", ("GAMEBACKEND_FAULTS=latency=400ms@0.3",), "+400 ms on 30% of requests", "rolled_back"
    ),
)


def _run(args: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CANARYCTL, *args], cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def _deploy(release: Release, cwd: Path) -> tuple[int, dict[str, Any]]:
    args = ["deploy", "--pipeline", str(PIPELINE), "--version", release.version, "--yes"]
    args += ["--output", "json"]
    for env in release.env:
        args += ["--env", env]
    for item in SETS:
        args += ["--set", item]
    proc = _run(args, cwd, timeout=240)
    try:
        return proc.returncode, json.loads(proc.stdout)
    except ValueError:
        return proc.returncode, {"status": "failed", "error": (proc.stderr or proc.stdout).strip()}


def _why(result: dict[str, Any]) -> str:
    """The deciding verdict: the first failed SLO, else the overall p95 and error rate."""
    verdicts = result.get("verdicts") or []
    failed = [v for v in verdicts if v.get("outcome") == "fail"]
    if failed:
        v = failed[0]
        measured, bound = _fmt(v["slo"], v.get("measured")), _fmt(v["slo"], v.get("threshold"))
        n = (v.get("evidence") or {}).get("canary") or {}
        counts = ""
        if "requests" in n and "error_rate" in v["slo"]:
            counts = f" ({n.get('errors', 0)} errors in {n['requests']} canary requests)"
        elif "requests" in n:
            counts = f" (over {n['requests']} canary requests)"
        return f"{v['slo']} failed: {measured} > {bound}{counts}"
    last: dict[str, Any] = {}
    for v in verdicts:
        if v.get("outcome") == "pass":
            last[v["slo"]] = v
    parts = [
        f"{name} {_fmt(name, last[name]['measured'])}"
        for name in ("all.p95", "all.error_rate")
        if name in last
    ]
    early = " (early promotion)" if "early promotion" in str(result.get("reason")) else ""
    return (", ".join(parts) + early) or str(result.get("reason") or result.get("error") or "")


def _fmt(slo: str, value: Any) -> str:
    if not isinstance(value, int | float):
        return str(value)
    if "error_rate" in slo:
        return f"{value * 100:.2f}%"
    return f"{value * 1000:.0f} ms"


def _print(text: str) -> None:
    print(text, flush=True)


def _up(work: Path) -> None:
    proc = _run(["sandbox", "up", "--detach", "--dir", ".sandbox", "--port", "0"], work, 300)
    if proc.returncode != 0:
        raise SystemExit(f"sandbox up failed: {proc.stderr.strip()}")
    info = json.loads((work / ".sandbox" / "sandbox.json").read_text())
    _print(f"sandbox ready: router {info['router_url']} (stable v1 x2), state in {work}")


def _report(rows: list[tuple[Release, int, dict[str, Any], float]]) -> bool:
    _print("\nsummary")
    _print(f"  {'version':8} {'injected':30} {'outcome':12} {'exit':4}  {'took':>5}  why")
    ok = True
    for release, code, result, took in rows:
        status = str(result.get("status"))
        mark = "ok" if status == release.expected else f"UNEXPECTED (wanted {release.expected})"
        ok &= status == release.expected
        _print(
            f"  {release.version:8} {release.what:30} {status:12} {code:<4}  {took:4.0f}s  "
            f"{_why(result)}  [{mark}]"
        )
    return ok


def main() -> None:
    t0 = time.monotonic()
    work = Path(tempfile.mkdtemp(prefix="canaryctl-demo-"))
    rows: list[tuple[Release, int, dict[str, Any], float]] = []
    ok = False
    try:
        _print(
            "canaryctl demo: 3 canary releases of the reference backend, 10% of traffic each, "
            "judged continuously by policies/gamebackend.yaml (up to 3 min each)"
        )
        _up(work)
        for release in RELEASES:
            _print(f"deploying {release.version} ({release.what}) …")
            started = time.monotonic()
            code, result = _deploy(release, work)
            took = time.monotonic() - started
            rows.append((release, code, result, took))
            _print(f"  → {result.get('status')} (exit {code}) in {took:.0f}s: {_why(result)}")
        ok = _report(rows)
    finally:
        down = _run(["sandbox", "down", "--dir", ".sandbox"], work, 120)
        _print(f"\nsandbox stopped ({down.stdout.strip() or down.stderr.strip()})")
        if ok and os.environ.get("CANARYCTL_DEMO_KEEP") != "1":
            shutil.rmtree(work, ignore_errors=True)
        else:  # something to look at: the records, the backends' logs
            _print(f"kept {work} (.canaryctl/ records, .sandbox/logs/)")
    _print(f"demo took {time.monotonic() - t0:.0f}s")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
