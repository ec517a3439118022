"""``canaryctl sandbox up|status|down``: what it starts, what it refuses, and that it leaves
no process behind — through down, SIGTERM, Ctrl-C, and with a backend that ignores SIGTERM."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import psutil
import pytest

pytestmark = pytest.mark.integration

HERE = Path(__file__).resolve().parent
CANARYCTL = str(Path(sys.executable).with_name("canaryctl"))


def cli(*args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [CANARYCTL, "sandbox", *args], capture_output=True, text=True, timeout=timeout
    )


def owned_processes(directory: Path) -> list[psutil.Process]:
    """Every live process that belongs to this sandbox: started with its dir or its data on
    the command line, or in the environment of a backend (by its log path)."""
    mark = str(directory.resolve())
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        try:
            if proc.info["status"] == psutil.STATUS_ZOMBIE:
                continue
            if any(mark in part for part in proc.info["cmdline"] or []):
                found.append(proc)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return found


def tree_pids(info: dict[str, object]) -> set[int]:
    pids = {int(info["pid"])}  # type: ignore[call-overload]
    pids |= set(info["process_groups"])  # type: ignore[arg-type]
    for pid in list(pids):
        with contextlib.suppress(psutil.NoSuchProcess):
            pids |= {c.pid for c in psutil.Process(pid).children(recursive=True)}
    return pids


def alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.add(pid)
        except psutil.NoSuchProcess:
            pass
    return out


def wait_gone(pids: set[int], timeout: float = 30) -> set[int]:
    deadline = time.monotonic() + timeout
    while alive(pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    return alive(pids)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def tmp_path(pg_tmp) -> Path:  # the embedded PostgreSQL needs a root pytest does not reset
    return pg_tmp()


def test_up_status_down_leaves_nothing_running(tmp_path: Path):
    directory = tmp_path / ".sandbox"
    port = free_port()
    up = cli("up", "--detach", "--dir", str(directory), "--port", str(port), "--replicas", "2")
    assert up.returncode == 0, up.stderr
    assert f"http://127.0.0.1:{port}" in up.stdout
    info = json.loads((directory / "sandbox.json").read_text())
    pids = tree_pids(info)
    try:
        status = cli("status", "--dir", str(directory), "--output", "json")
        state = json.loads(status.stdout)
        assert state["stable"]["version"] == "v1" and state["stable"]["healthy"]
        assert state["stable"]["running"] == 2 and state["canary"] is None
        assert state["weights"] == {"stable": 100, "canary": 0}
        health = httpx.get(f"http://127.0.0.1:{port}/healthz").json()
        assert health["version"] == "v1"
        assert "postgresql://" in info["database_url"] and info["redis_url"]
        table = cli("status", "--dir", str(directory))
        assert "stable" in table.stdout and "healthy" in table.stdout

        again = cli("up", "--detach", "--dir", str(directory), "--port", str(free_port()))
        assert again.returncode == 2
        assert again.stderr.strip().endswith("first") and "already running" in again.stderr
        other = cli("up", "--detach", "--dir", str(tmp_path / "other"), "--port", str(port))
        assert (
            other.returncode == 2 and f"--port: 127.0.0.1:{port} is already in use" in other.stderr
        )
        assert "Traceback" not in again.stderr + other.stderr
    finally:
        down = cli("down", "--dir", str(directory))
    assert down.returncode == 0 and "stopped" in down.stdout
    assert wait_gone(pids) == set()
    assert owned_processes(directory) == []  # PostgreSQL and Redis too
    assert not (directory / "sandbox.json").exists()
    gone = cli("status", "--dir", str(directory))
    assert gone.returncode == 2 and "no sandbox running" in gone.stderr
    assert cli("down", "--dir", str(directory)).returncode == 0  # idempotent


def test_sigterm_to_the_supervisor_stops_everything(tmp_path: Path):
    directory = tmp_path / ".sandbox"
    up = cli("up", "--detach", "--dir", str(directory), "--port", "0", "--replicas", "1")
    assert up.returncode == 0, up.stderr
    info = json.loads((directory / "sandbox.json").read_text())
    pids = tree_pids(info)
    os.kill(info["pid"], signal.SIGTERM)
    assert wait_gone(pids) == set()
    assert owned_processes(directory) == []


# A backend that answers /readyz but ignores SIGTERM, with a worker child that ignores it too.
HUNG_BACKEND = """
import http.server, os, signal, sys
signal.signal(signal.SIGTERM, signal.SIG_IGN)
if os.fork() == 0:
    signal.pause()
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200); self.send_header("content-length", "2"); self.end_headers()
        self.wfile.write(b"ok")
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
"""


def test_ctrl_c_in_the_foreground_kills_even_a_hung_backend(tmp_path: Path):
    directory = tmp_path / ".sandbox"
    script = tmp_path / "hung.py"
    script.write_text(HUNG_BACKEND)
    args = ["up", "--dir", str(directory), "--port", "0", "--replicas", "2", "--no-datastores"]
    args += ["--stop-timeout", "1", f"--backend={sys.executable}", f"--backend={script}"]
    args += ["--backend={port}"]
    fg = subprocess.Popen(
        [CANARYCTL, "sandbox", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        deadline = time.monotonic() + 60
        info = None
        while time.monotonic() < deadline:
            path = directory / "sandbox.json"
            if path.exists() and json.loads(path.read_text())["status"] == "ready":
                info = json.loads(path.read_text())
                break
            time.sleep(0.1)
        assert info is not None, "the sandbox did not become ready"
        time.sleep(0.3)
        pids = tree_pids(info)
        assert len(pids) >= 5  # supervisor + 2 backends + their 2 forked workers
        fg.send_signal(signal.SIGINT)
        fg.wait(30)
    finally:
        if fg.poll() is None:
            fg.kill()
    assert wait_gone(pids, timeout=20) == set()
    assert fg.returncode == 0


def test_a_backend_that_cannot_start_fails_up_with_its_reason(tmp_path: Path):
    directory = tmp_path / ".sandbox"
    env = {**os.environ, "GAMEBACKEND_FAULTS": "nonsense"}
    up = subprocess.run(
        [CANARYCTL, "sandbox", "up", "--detach", "--dir", str(directory), "--port", "0"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert up.returncode == 1
    assert "GAMEBACKEND_FAULTS" in up.stderr and "Traceback" not in up.stderr
    assert owned_processes(directory) == []
