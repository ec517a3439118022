"""canaryctl's load generator: a realistic mix of the reference backend's calls, open-loop at a
profile's rate (steady, ramp, spike, launch), with WebSocket players and matchmaking tickets that
follow the same curve, bounded in connections, count and time, loopback-only by default.

    from canaryctl.load import run_in_background
    handle = run_in_background("http://127.0.0.1:8080", "steady", rps=30, duration=120)
    ...
    summary = handle.stop()   # requests, errors by status, latency p50/p95/p99, ws, matchmaking
"""

from __future__ import annotations

from canaryctl.load.profiles import PROFILES
from canaryctl.load.runner import (
    LoadHandle,
    LoadOptions,
    check_options,
    check_target,
    run,
    run_in_background,
    run_until_signal,
)

__all__ = [
    "PROFILES",
    "LoadHandle",
    "LoadOptions",
    "check_options",
    "check_target",
    "run",
    "run_in_background",
    "run_until_signal",
]
