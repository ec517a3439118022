"""Fixtures for the load generator's integration tests: a real ``gamebackend serve`` (embedded
PostgreSQL and Redis in a temporary directory) behind the real router, on ephemeral ports, and
``canaryctl load`` as a subprocess. Every process is stopped by its fixture.
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
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _stop(proc: subprocess.Popen[bytes], timeout: float = 15.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@dataclass
class Stack:
    """The backend (``backend_url``) behind the router (``router_url``), and its database."""

    router_url: str
    backend_url: str
    database_url: str

    def metric(self, name: str) -> float:
        """The sum of a backend metric's samples."""
        text = httpx.get(self.backend_url + "/metrics", timeout=10).text
        total = 0.0
        for line in text.splitlines():
            if line.startswith((name + "{", name + " ")):
                total += float(line.rpartition(" ")[2])
        return total


@pytest.fixture
def admin_key() -> str:
    """The backend's admin key (credits for the load's players)."""
    return ADMIN_KEY


@pytest.fixture(scope="session")
def workdir() -> Iterator[Path]:
    # Outside pytest's temp root: the embedded PostgreSQL runs as another user when the tests
    # run as root, and pytest resets its root to 0700 whenever another session starts.
    base = Path(tempfile.mkdtemp(prefix="canaryctl-load-it-"))
    base.chmod(0o755)
    yield base
    shutil.rmtree(base, ignore_errors=True)


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise AssertionError(f"gamebackend serve did not become ready:\n{log.read_text()[-3000:]}")


def _start_router(workdir: Path, backend_port: int) -> tuple[subprocess.Popen[bytes], int]:
    ready = workdir / "router.json"
    cmd = [PY, "-m", "canaryctl.platforms.local.router", "--weights", "100/0"]
    cmd += [f"--stable=127.0.0.1:{backend_port}", "--ready-file", str(ready)]
    proc = subprocess.Popen(cmd, start_new_session=True)
    deadline = time.monotonic() + 20
    while not ready.exists():
        if time.monotonic() > deadline or proc.poll() is not None:
            _stop(proc)
            raise AssertionError("the router did not start")
        time.sleep(0.05)
    return proc, int(json.loads(ready.read_text())["port"])


@pytest.fixture(scope="session")
def stack(workdir: Path) -> Iterator[Stack]:
    servers = EmbeddedServers(workdir / "embedded").start()
    procs: list[subprocess.Popen[bytes]] = []
    try:
        env = {k: v for k, v in os.environ.items() if not k.startswith("GAMEBACKEND_")}
        env.update(RULES)
        env.update({
            "DATABASE_URL": servers.database_url or "", "REDIS_URL": servers.redis_url or "",
            "GAMEBACKEND_ADMIN_KEY": ADMIN_KEY, "GAMEBACKEND_VERSION": "load-it",
        })  # fmt: skip
        port = _free_port()
        log = workdir / "serve.log"
        with log.open("wb") as out:
            cmd = [
                PY,
                "-m",
                "gamebackend",
                "serve",
                "--port",
                str(port),
                "--data-dir",
                str(workdir),
            ]
            procs.append(
                subprocess.Popen(
                    cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
                )
            )
        backend_url = f"http://127.0.0.1:{port}"
        _wait_ready(backend_url, procs[0], log)
        router, router_port = _start_router(workdir, port)
        procs.append(router)
        yield Stack(f"http://127.0.0.1:{router_port}", backend_url, servers.database_url or "")
    finally:
        for proc in reversed(procs):
            _stop(proc)
        servers.stop()


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
