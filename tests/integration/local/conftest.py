"""Fixtures for the local platform's integration tests: real processes, real sockets.

- ``stub_backend``: processes of ``stubapp.py`` (a tiny Starlette app with /v1/ws), for router
  tests that need a WebSocket or a controllable error rate;
- ``router_process``: the router as its own process (uvloop), the way the sandbox runs it;
- ``sandbox``: ``canaryctl sandbox up --detach`` with the real ``gamebackend serve``;
- ``prometheus``: Debian's Prometheus scraping a given target every second.

Every process is stopped by its fixture; every port is ephemeral.
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

import httpx
import pytest

HERE = Path(__file__).resolve().parent
PY = sys.executable
CANARYCTL = str(Path(PY).with_name("canaryctl"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"{url} did not answer 200 within {timeout}s")


def _stop(proc: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


@pytest.fixture
def free_port() -> Callable[[], int]:
    return _free_port


@pytest.fixture
def stub_backend(tmp_path: Path) -> Iterator[Callable[..., int]]:
    """``start(version="v1", errors=0.0, latency_ms=0)`` → port of a new stub process."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(version: str = "v1", errors: float = 0.0, latency_ms: int = 0) -> int:
        port = _free_port()
        env = {**os.environ, "STUB_VERSION": version, "STUB_ERRORS": str(errors)}
        env["STUB_LATENCY_MS"] = str(latency_ms)
        log = open(tmp_path / f"stub-{port}.log", "wb")  # noqa: SIM115 - closed with the process
        procs.append(
            subprocess.Popen(
                [PY, str(HERE / "stubapp.py"), str(port)],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()
        _wait_http(f"http://127.0.0.1:{port}/healthz")
        return port

    yield start
    for proc in procs:
        _stop(proc)


@dataclass
class RouterProcess:
    port: int
    admin_port: int
    pid: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def admin(self) -> str:
        return f"http://127.0.0.1:{self.admin_port}"

    def set_weights(self, stable: int, canary: int) -> None:
        resp = httpx.put(f"{self.admin}/v1/weights", json={"stable": stable, "canary": canary})
        assert resp.status_code == 200, resp.text


@pytest.fixture
def router_process(tmp_path: Path) -> Iterator[Callable[..., RouterProcess]]:
    """``start(stable=[ports], canary=[ports], weights="100/0")`` → a running router process."""
    procs: list[subprocess.Popen[bytes]] = []

    def start(stable: list[int], canary: list[int] = (), weights: str = "100/0") -> RouterProcess:  # type: ignore[assignment]
        ready = tmp_path / f"router-{len(procs)}.json"
        cmd = [PY, "-m", "canaryctl.platforms.local.router", "--weights", weights]
        cmd += [f"--stable=127.0.0.1:{p}" for p in stable]
        cmd += [f"--canary=127.0.0.1:{p}" for p in canary]
        procs.append(subprocess.Popen([*cmd, "--ready-file", str(ready)], start_new_session=True))
        deadline = time.monotonic() + 20
        while not ready.exists():
            assert time.monotonic() < deadline, "router did not start"
            assert procs[-1].poll() is None, "router exited"
            time.sleep(0.05)
        data = json.loads(ready.read_text())
        return RouterProcess(data["port"], data["admin_port"], data["pid"])

    yield start
    for proc in procs:
        _stop(proc)


@dataclass
class Sandbox:
    dir: Path
    info: dict[str, object]

    @property
    def router_url(self) -> str:
        return str(self.info["router_url"])

    @property
    def control_url(self) -> str:
        return str(self.info["control_url"])

    def state(self) -> dict[str, object]:
        return dict(httpx.get(f"{self.control_url}/v1/state", timeout=10).json())


def sandbox_cli(
    *args: str, cwd: Path | None = None, timeout: float = 240
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CANARYCTL, "sandbox", *args], capture_output=True, text=True, timeout=timeout, cwd=cwd
    )


@pytest.fixture(scope="session")
def pg_tmp() -> Iterator[Callable[[], Path]]:
    """Fresh directories for sandboxes, outside pytest's own temp root.

    The embedded PostgreSQL runs as another user when tests run as root, so it makes the
    parents of its data dir traversable; pytest resets its temp root to 0700 whenever another
    pytest session starts (other test runs share this machine), which would lock it out.
    """
    base = Path(tempfile.mkdtemp(prefix="canaryctl-local-it-"))
    counter = iter(range(10_000))

    def make() -> Path:
        path = base / f"d{next(counter)}"
        path.mkdir()
        return path

    yield make
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def sandbox(pg_tmp: Callable[[], Path]) -> Iterator[Sandbox]:
    """A detached sandbox with the real backend (2 stable processes of v1), shared by a module."""
    directory = pg_tmp() / ".sandbox"
    port = _free_port()
    up = sandbox_cli(
        "up", "--detach", "--dir", str(directory), "--port", str(port), "--replicas", "2"
    )
    assert up.returncode == 0, up.stdout + up.stderr
    info = json.loads((directory / "sandbox.json").read_text())
    try:
        yield Sandbox(directory, info)
    finally:
        down = sandbox_cli("down", "--dir", str(directory))
        assert down.returncode == 0, down.stderr


@dataclass
class PrometheusServer:
    url: str
    proc: subprocess.Popen[bytes]

    def stop(self) -> None:
        _stop(self.proc)


@pytest.fixture
def prometheus(tmp_path: Path) -> Iterator[Callable[[str], PrometheusServer]]:
    """``start("127.0.0.1:PORT")`` → a Prometheus scraping that target's /metrics every second."""
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    assert Path(binary).exists(), "Prometheus is needed: run scripts/system-deps.sh"
    procs: list[subprocess.Popen[bytes]] = []

    def start(target: str) -> PrometheusServer:
        port = _free_port()
        work = tmp_path / f"prom-{port}"
        work.mkdir()
        config = work / "prometheus.yml"
        config.write_text(
            "global: {scrape_interval: 1s, evaluation_interval: 1s}\n"
            "scrape_configs:\n"
            f"  - job_name: router\n    static_configs: [{{targets: ['{target}']}}]\n"
        )
        log = open(work / "prometheus.log", "wb")  # noqa: SIM115 - closed with the process
        procs.append(
            subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--web.listen-address=127.0.0.1:{port}",
                    f"--storage.tsdb.path={work / 'data'}",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        )
        log.close()
        url = f"http://127.0.0.1:{port}"
        _wait_http(f"{url}/-/ready", timeout=60)
        return PrometheusServer(url, procs[-1])

    yield start
    for proc in procs:
        _stop(proc)
