"""Fixtures for the load generator's integration tests: a real ``gamebackend serve`` (embedded
PostgreSQL and Redis of its own) behind the real router, on ephemeral ports (started through
the ``tests/_servers.py`` plugin's fixtures), and ``canaryctl load`` as a subprocess. Every
process is stopped by a fixture's finalizer.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from gamebackend.embedded import EmbeddedServers

PY = sys.executable
CANARYCTL = str(Path(PY).with_name("canaryctl"))
ADMIN_KEY = "load-it-admin-key"
# Matchmaking fast enough to see matches and expiries within a 10 s run.
RULES = {
    "GAMEBACKEND_MM_TICK": "0.1",
    "GAMEBACKEND_MM_REGION_FALLBACK": "1",
    "GAMEBACKEND_MM_WINDOW_WIDEN": "300",
    "GAMEBACKEND_MM_EXPIRY": "5",
}


Backend = Any  # the plugin's Backend: shared through fixtures, not imports
Processes = Any  # the plugin's Processes


@dataclass
class Stack:
    """The backend (``backend_url``) behind the router (``router_url``), and its database."""

    router_url: str
    backend: Backend
    database_url: str
    router_admin: str = ""  # the router's admin API (``/metrics``: what it counted)

    @property
    def backend_url(self) -> str:
        return str(self.backend.url)

    def metric(self, name: str) -> float:
        """The sum of a backend metric's samples."""
        return float(self.backend.metric(name))


@pytest.fixture
def admin_key() -> str:
    """The backend's admin key (credits for the load's players)."""
    return ADMIN_KEY


@pytest.fixture(scope="session")
def stack(
    embedded_servers: Callable[[str], EmbeddedServers],
    gamebackend_env: Callable[..., dict[str, str]],
    session_processes: Processes,
) -> Stack:
    """The backend behind the router for the whole session (the plugin stops both)."""
    servers = embedded_servers("load-it")
    env = gamebackend_env(
        servers, **RULES, GAMEBACKEND_ADMIN_KEY=ADMIN_KEY, GAMEBACKEND_VERSION="load-it"
    )
    backend = session_processes.backend(env)
    router = session_processes.router([backend.port])
    return Stack(router.url, backend, servers.database_url or "", router.admin)


@dataclass
class LoadRun:
    proc: subprocess.Popen[str]
    stdout: str = ""
    stderr: str = ""

    @property
    def summary(self) -> dict[str, Any]:
        assert self.stdout.strip(), f"no summary; stderr:\n{self.stderr[-3000:]}"
        return dict(json.loads(self.stdout))


@pytest.fixture
def load_cli() -> Iterator[Callable[..., LoadRun]]:
    """``load_cli(*args)``: ``canaryctl load`` started as a subprocess (``.proc``); killed at
    the end of the test if it is still running."""
    runs: list[LoadRun] = []

    def start(*args: str) -> LoadRun:
        env = {**os.environ, "GAMEBACKEND_ADMIN_KEY": ADMIN_KEY}
        proc = subprocess.Popen(
            [CANARYCTL, "load", *args],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        runs.append(LoadRun(proc))
        return runs[-1]

    yield start
    for run in runs:
        if run.proc.poll() is None:
            os.killpg(run.proc.pid, signal.SIGKILL)
            run.proc.communicate(timeout=10)


def finish(run: LoadRun, timeout: float) -> LoadRun:
    run.stdout, run.stderr = run.proc.communicate(timeout=timeout)
    return run


@pytest.fixture
def wait_load() -> Callable[[LoadRun, float], LoadRun]:
    """``wait_load(run, timeout)``: the run's output once it has exited (bounded)."""
    return finish
