"""Fixtures for the local platform's integration tests: real processes, real sockets.

- ``stub_backend``: processes of ``stubapp.py`` (a tiny Starlette app with /v1/ws), for router
  tests that need a WebSocket or a controllable error rate;
- ``sandbox``: ``canaryctl sandbox up --detach`` with the real ``gamebackend serve``;
- from the ``tests/_servers.py`` plugin: ``router_process`` (the router as its own process,
  the way the sandbox runs it), ``prometheus`` (Debian's Prometheus scraping a given target
  every second), ``free_port``.

Every process is stopped by a fixture's finalizer; every port is ephemeral.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
Processes = Any  # the plugin's Processes: shared through fixtures, not imports
Sandbox = Any  # the plugin's Sandbox
Sandboxes = Any  # the plugin's Sandboxes


@pytest.fixture
def stub_backend(processes: Processes, free_port: Callable[[], int]) -> Callable[..., int]:
    """``start(version="v1", errors=0.0, latency_ms=0)`` → port of a new stub process."""

    def start(version: str = "v1", errors: float = 0.0, latency_ms: int = 0) -> int:
        port = free_port()
        env = {**os.environ, "STUB_VERSION": version, "STUB_ERRORS": str(errors)}
        env["STUB_LATENCY_MS"] = str(latency_ms)
        log = processes.workdir / f"stub-{port}.log"
        proc = processes.start(
            [sys.executable, str(HERE / "stubapp.py"), str(port)], log=log, env=env
        )
        processes.ready(proc, f"http://127.0.0.1:{port}/healthz", log)
        return port

    return start


@pytest.fixture(scope="session")
def pg_tmp(scratch_dir: Callable[[str], Path]) -> Callable[[], Path]:
    """Fresh directories for sandboxes, outside pytest's own temp root (see ``scratch_dir``)."""
    return lambda: scratch_dir("local-it")


@pytest.fixture(scope="module")
def sandbox(sandboxes: Sandboxes, pg_tmp: Callable[[], Path]) -> Iterator[Sandbox]:
    """A detached sandbox with the real backend (2 stable processes of v1), shared by a module."""
    started = sandboxes.up(pg_tmp() / ".sandbox", replicas=2)
    try:
        yield started
    finally:
        down = sandboxes.down(started)
        assert down.returncode == 0, down.stderr
