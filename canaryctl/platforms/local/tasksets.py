"""A task set of the sandbox: N processes of one backend version, and their health.

Health follows the ALB's model: a process is ready after ``GET /readyz`` answers 200; a task set
is healthy when every process is alive and ready. A process that exits makes its task set
unhealthy, with its exit code and the last lines of its log as the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from canaryctl.platforms.local.processes import Proc, free_port

__all__ = ["TaskSetRuntime"]

_PROBE = b"GET /readyz HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n"


async def probe_ready(port: int, timeout: float = 2.0) -> bool:
    """One readiness probe (raw asyncio, so the supervisor needs no HTTP client library)."""
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", port), timeout)
    except (OSError, TimeoutError):
        return False
    try:
        writer.write(_PROBE)
        line = await asyncio.wait_for(reader.readline(), timeout)
        return line.startswith(b"HTTP/1.1 200") or line.startswith(b"HTTP/1.0 200")
    except (OSError, TimeoutError):
        return False
    finally:
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()


class TaskSetRuntime:
    """The processes of one version and what is known about their health."""

    def __init__(
        self,
        ts_id: str,
        version: str,
        role: str,
        env_overrides: dict[str, str],
        command: Sequence[str],
        base_env: dict[str, str],
        replicas: int,
        log_dir: Path,
    ) -> None:
        self.id = ts_id
        self.version = version
        self.role = role  # stable | canary | draining
        self.env_overrides = dict(env_overrides)
        self.created_at = time.time()
        self.state = "starting"  # starting | healthy | unhealthy | draining | stopped
        self.reason = ""
        self.ready: dict[int, bool] = {}
        self.procs: list[Proc] = []
        env = {**base_env, "GAMEBACKEND_VERSION": version, **env_overrides}
        for i in range(replicas):
            port = free_port()
            argv = [part.replace("{port}", str(port)) for part in command]
            log = log_dir / f"{ts_id}-{i}.log"
            self.procs.append(Proc(f"{ts_id}-{i}", argv, env, log, port=port))

    @property
    def addrs(self) -> list[tuple[str, int]]:
        return [("127.0.0.1", p.port or 0) for p in self.procs]

    @property
    def healthy(self) -> bool:
        return self.state == "healthy"

    def start(self) -> None:
        for proc in self.procs:
            proc.start()

    async def check(self) -> None:
        """Probe every process once and update the state."""
        if self.state in ("draining", "stopped"):
            return
        results = await asyncio.gather(*(self._probe(p) for p in self.procs))
        if self.note_exits():
            return
        if all(results):
            self.state, self.reason = "healthy", ""
        elif self.state == "healthy":
            waiting = [p.name for p, ok in zip(self.procs, results, strict=True) if not ok]
            self.state = "unhealthy"
            self.reason = f"/readyz failing on {', '.join(waiting)}"

    def note_exits(self) -> bool:
        """Mark the task set unhealthy, with the reason, as soon as one process has exited."""
        if self.state in ("draining", "stopped"):
            return False
        dead = [p for p in self.procs if not p.alive()]
        if not dead:
            return False
        p = dead[0]
        tail = p.tail(3).replace("\n", " | ")
        self.state = "unhealthy"
        self.reason = f"process {p.name} (port {p.port}) exited with code {p.exit_code}"
        self.reason += f": {tail}" if tail else ""
        return True

    async def _probe(self, proc: Proc) -> bool:
        ok = proc.alive() and await probe_ready(proc.port or 0)
        self.ready[proc.pid] = ok
        return ok

    async def stop(self, timeout: float) -> None:
        await asyncio.gather(*(p.stop(timeout) for p in self.procs))
        self.state = "stopped"

    def to_json(self) -> dict[str, Any]:
        self.note_exits()
        running = sum(p.alive() for p in self.procs)
        return {
            "id": self.id,
            "version": self.version,
            "role": self.role,
            "state": self.state,
            "healthy": self.healthy,
            "reason": self.reason,
            "running": running,
            "desired": len(self.procs),
            "env": self.env_overrides,
            "created_at": self.created_at,
            "processes": [
                {
                    "pid": p.pid,
                    "port": p.port,
                    "alive": p.alive(),
                    "ready": self.ready.get(p.pid, False),
                    "exit_code": p.exit_code,
                    "log": str(p.log_path),
                }
                for p in self.procs
            ],
        }
