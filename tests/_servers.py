"""Pytest plugin: the programs the integration and end-to-end tests start, and their stop.

Registered by ``tests/conftest.py`` (``pytest_plugins``); conftests and tests receive all of it
through fixtures, never by import (the house rule: no imports across test modules).

- ``free_port``: an ephemeral loopback port, for programs that cannot report the port they bound;
- ``scratch_dir``: fresh directories outside pytest's temp root, for the embedded PostgreSQL;
- ``processes`` (per test) and ``session_processes``: start programs, each in a session of its
  own so that a stop reaches its children; the fixture's finalizer stops every one (SIGTERM to
  the group, then SIGKILL). They also start the project's servers on ephemeral ports:
  ``.backend(env)`` (``gamebackend serve``), ``.router(stable, canary)`` (the weighted router),
  ``.prometheus(target)`` (Debian's Prometheus);
- ``router_process`` and ``prometheus``: ``processes.router`` / ``processes.prometheus``;
- ``embedded_servers``: ``name`` → an embedded PostgreSQL + Redis of its own, for the session;
  ``gamebackend_env(servers, **env)``: the environment of a backend using them;
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

if TYPE_CHECKING:
    from gamebackend.embedded import EmbeddedServers

__all__ = [
    "Backend",
    "Processes",
    "PrometheusServer",
    "RouterProcess",
    "embedded_servers",
    "free_port",
    "gamebackend_env",
    "processes",
    "prometheus",
    "router_process",
    "scratch_dir",
    "session_processes",
]

PY = sys.executable
Proc = subprocess.Popen[bytes]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    return log.read_text(errors="replace")[-3000:]


def _wait_http(url: str, proc: Proc | None, log: Path | None, timeout: float) -> None:
    """Until ``url`` answers 200; fails early (with the log's tail) if ``proc`` exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc is None or proc.poll() is None):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2).status_code == 200:
                return
        time.sleep(0.1)
    why = f"no 200 within {timeout}s"
    if proc is not None and proc.poll() is not None:
        why = f"the program exited ({proc.returncode})"
    raise AssertionError(f"{url}: {why}\n{_tail(log)}")


def _metric(url: str, name: str, labels: Mapping[str, str]) -> float:
    """The sum of a Prometheus metric's samples at ``url`` whose labels include ``labels``."""
    total = 0.0
    for line in httpx.get(url, timeout=10).text.splitlines():
        if not line.startswith((name + "{", name + " ")):
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total


def _stop(proc: Proc, timeout: float = 15.0) -> None:
    # The group, not only the leader: a program's own children must not outlive the test.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        _kill(proc)


def _kill(proc: Proc) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


@dataclass
class Backend:
    """One ``gamebackend serve`` process."""

    proc: Proc
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/v1/ws"

    def stop(self) -> None:
        _stop(self.proc, timeout=20)

    def kill(self) -> None:
        """SIGKILL: no goodbye."""
        _kill(self.proc)

    def metric(self, name: str, **labels: str) -> float:
        """Sum of a metric's samples whose labels include ``labels``."""
        return _metric(self.url + "/metrics", name, labels)


@dataclass
class RouterProcess:
    """The weighted router as its own process (uvloop), the way the sandbox runs it."""

    port: int
    admin_port: int
    pid: int
    proc: Proc = field(repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def set_weights(self, stable: int, canary: int) -> None:
        resp = httpx.put(f"{self.admin}/v1/weights", json={"stable": stable, "canary": canary})
        assert resp.status_code == 200, resp.text


@dataclass
class PrometheusServer:
    """Debian's Prometheus scraping one target (job ``router``) every second."""

    url: str
    proc: Proc = field(repr=False)

    def stop(self) -> None:
        _stop(self.proc)

    def scraped(self, job: str = "router", timeout: float = 30.0) -> None:
        """Until the target has been scraped successfully."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                query = {"query": f'up{{job="{job}"}}'}
                resp = httpx.get(f"{self.url}/api/v1/query", params=query)
                if any(r["value"][1] == "1" for r in resp.json()["data"]["result"]):
                    return
            time.sleep(0.2)
        raise AssertionError(f"Prometheus did not scrape {job} within {timeout}s")


class Processes:
    """Programs started for a test (or a session) in ``workdir``; ``stop_all`` stops them."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self._started: list[Proc] = []
        self._ids = itertools.count()

    def start(
        self, cmd: Sequence[str], *, log: Path | None = None, env: Mapping[str, str] | None = None
    ) -> Proc:
        """``cmd`` in a session of its own; its output goes to ``log`` (inherited without)."""
        with open(log, "wb") if log is not None else contextlib.nullcontext() as out:
            proc = subprocess.Popen(
                list(cmd),
                env=dict(env) if env is not None else None,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                start_new_session=True,
            )
        self._started.append(proc)
        return proc

    def ready(self, proc: Proc, url: str, log: Path | None = None, timeout: float = 30) -> None:
        """Until ``url`` answers 200; a program that never does is stopped and the test fails."""
        try:
            _wait_http(url, proc, log, timeout)
        except AssertionError:
            _stop(proc)
            raise

    def stop_all(self) -> None:
        for proc in reversed(self._started):
            _stop(proc)

    def backend(self, env: Mapping[str, str]) -> Backend:
        """``gamebackend serve`` with ``env`` on an ephemeral port, once it answers /readyz."""
        port = _free_port()
        log = self.workdir / f"serve-{port}.log"
        cmd = [
            PY,
            "-m",
            "gamebackend",
            "serve",
            "--port",
            str(port),
            "--data-dir",
            str(self.workdir),
        ]
        backend = Backend(self.start(cmd, log=log, env=env), port, log)
        self.ready(backend.proc, backend.url + "/readyz", log, timeout=90)
        return backend

    def router(
        self, stable: Sequence[int], canary: Sequence[int] = (), weights: str = "100/0"
    ) -> RouterProcess:
        """The router in front of the given loopback ports; it binds and reports its own."""
        ready = self.workdir / f"router-{next(self._ids)}.json"
        cmd = [PY, "-m", "canaryctl.platforms.local.router", "--weights", weights]
        cmd += [f"--stable=127.0.0.1:{p}" for p in stable]
        cmd += [f"--canary=127.0.0.1:{p}" for p in canary]
        proc = self.start([*cmd, "--ready-file", str(ready)])
        deadline = time.monotonic() + 20
        while not ready.exists():
            if time.monotonic() > deadline or proc.poll() is not None:
                _stop(proc)
                raise AssertionError("the router did not start")
            time.sleep(0.05)
        data = json.loads(ready.read_text())
        return RouterProcess(data["port"], data["admin_port"], data["pid"], proc)

    def prometheus(
        self, target: str | None = None, job: str = "router", *, sd_url: str | None = None
    ) -> PrometheusServer:
        """Debian's Prometheus scraping ``target`` (host:port) every second, once ready; or the
        targets an HTTP service discovery at ``sd_url`` lists (refreshed every second)."""
        binary = shutil.which("prometheus") or "/usr/bin/prometheus"
        assert Path(binary).exists(), "Prometheus is needed: run scripts/system-deps.sh"
        port = _free_port()
        work = self.workdir / f"prom-{port}"
        work.mkdir()
        config = work / "prometheus.yml"
        found = (
            f"http_sd_configs: [{{url: '{sd_url}', refresh_interval: 1s}}]"
            if sd_url
            else f"static_configs: [{{targets: ['{target}']}}]"
        )
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: {job}\n    {found}\n"
        )
        cmd = [
            binary,
            f"--config.file={config}",
            f"--web.listen-address=127.0.0.1:{port}",
            f"--storage.tsdb.path={work / 'data'}",
        ]
        server = PrometheusServer(f"http://127.0.0.1:{port}", self.start(cmd, log=work / "log"))
        self.ready(server.proc, f"{server.url}/-/ready", work / "log", timeout=60)
        return server


@pytest.fixture(scope="session")
def free_port() -> Callable[[], int]:
    """``free_port()`` → a loopback port nobody listens on now."""
    return _free_port


@pytest.fixture(scope="session")
def scratch_dir() -> Iterator[Callable[[str], Path]]:
    """``scratch_dir(name)`` → a fresh directory outside pytest's temp root.

    The embedded PostgreSQL runs as another user when the tests run as root and needs the
    parents of its data dir traversable; pytest resets its own temp root to 0700 whenever
    another pytest session starts on this machine, which would lock it out.
    """
    base = Path(tempfile.mkdtemp(prefix="canaryctl-tests-"))
    base.chmod(0o755)
    counter = itertools.count()

    def make(name: str = "d") -> Path:
        path = base / f"{name}-{next(counter)}"
        path.mkdir(mode=0o755)
        return path

    yield make
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def embedded_servers(
    scratch_dir: Callable[[str], Path],
) -> Iterator[Callable[[str], EmbeddedServers]]:
    """``embedded_servers(name)`` → a started embedded PostgreSQL + Redis of its own (a test
    directory's backends must not meet another's), stopped at the end of the session."""
    from gamebackend.embedded import EmbeddedServers

    started: list[EmbeddedServers] = []

    def start(name: str) -> EmbeddedServers:
        started.append(EmbeddedServers(scratch_dir(name)))
        return started[-1].start()

    yield start
    for servers in reversed(started):
        servers.stop()


def _gamebackend_env(servers: EmbeddedServers, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("GAMEBACKEND_")}
    base["DATABASE_URL"] = servers.database_url or ""
    base["REDIS_URL"] = servers.redis_url or ""
    return {**base, **env}


@pytest.fixture(scope="session")
def gamebackend_env() -> Callable[..., dict[str, str]]:
    """``gamebackend_env(servers, **env)`` → the environment of a ``gamebackend serve`` using
    those embedded servers, with no ``GAMEBACKEND_*`` setting of the caller's leaking in."""
    return _gamebackend_env


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[Processes]:
    """Programs started by this test; all stopped when it ends."""
    started = Processes(tmp_path)
    yield started
    started.stop_all()


@pytest.fixture(scope="session")
def session_processes(
    scratch_dir: Callable[[str], Path],
    embedded_servers: Callable[[str], EmbeddedServers],  # torn down after: backends stop first
) -> Iterator[Processes]:
    """Programs started for the whole session; all stopped when it ends."""
    started = Processes(scratch_dir("processes"))
    yield started
    started.stop_all()


@pytest.fixture
def router_process(processes: Processes) -> Callable[..., RouterProcess]:
    """``start(stable=[ports], canary=[ports], weights="100/0")`` → a running router process."""
    return processes.router


@pytest.fixture
def prometheus(processes: Processes) -> Callable[..., PrometheusServer]:
    """``start("127.0.0.1:PORT")`` → a Prometheus scraping that target's /metrics every second;
    ``start(job=..., sd_url=URL)``: the targets an HTTP service discovery lists."""
    return processes.prometheus
