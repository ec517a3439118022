"""The sandbox supervisor: one process that owns every other process of the local platform.

It starts the shared embedded PostgreSQL and Redis (``gamebackend.embedded``), the stable task
set, the weighted router and the admin/control API, writes ``<dir>/sandbox.json``, and on SIGTERM,
SIGINT or ``POST /v1/shutdown`` stops all of it. Because it, not ``canaryctl deploy``, owns the
processes, a killed deploy leaves task sets and weights as they were, like ECS would.

    python -m canaryctl.platforms.local.supervisor --dir .sandbox [--port 8080] [--replicas 2]
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import secrets
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

from canaryctl.platforms.local.admin import add_router_routes
from canaryctl.platforms.local.control import SandboxOptions, add_control_routes
from canaryctl.platforms.local.httpserver import AdminServer
from canaryctl.platforms.local.router import Router
from canaryctl.platforms.local.sandboxfile import (
    LOCK_FILE,
    SANDBOX_FILE,
    SandboxInfo,
    load_secrets,
)
from canaryctl.platforms.local.tasksets import TaskSetRuntime

__all__ = ["ERROR_FILE", "SandboxOptions", "StartupError", "Supervisor", "main"]

ERROR_FILE = "supervisor.error"
STARTING_PROBE_S = 0.1  # health probes of a starting task set


class StartupError(Exception):
    """The sandbox could not start; ``exit_code`` 2 when the user's input is the cause."""

    def __init__(self, message: str, exit_code: int = 1) -> None:
        super().__init__(message)
        self.exit_code = exit_code


class Supervisor:
    """See the module docstring. All state changes happen on its event loop, one at a time."""

    def __init__(self, opts: SandboxOptions) -> None:
        self.opts = opts
        self.dir = opts.dir.resolve()
        self.router = Router()
        self.admin: AdminServer | None = None
        self.stable: TaskSetRuntime | None = None
        self.canary: TaskSetRuntime | None = None
        self.draining: list[TaskSetRuntime] = []
        self.mutex = asyncio.Lock()
        self.info = SandboxInfo(dir=str(self.dir), pid=os.getpid(), status="starting")
        self.stopping = asyncio.Event()
        self._lock_fd: int | None = None
        self._servers: Any = None
        self._base_env: dict[str, str] = {}
        self._serial = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # -- start ------------------------------------------------------------------------
    async def run(self) -> None:
        """Start everything, serve until asked to stop, then stop everything."""
        self._take_lock()
        try:
            await self._start()
            await self.stopping.wait()
        finally:
            await self._teardown()

    def _take_lock(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise StartupError(f"a sandbox is already running in {self.opts.dir}", 2) from None
        os.set_inheritable(fd, False)
        self._lock_fd = fd
        with contextlib.suppress(FileNotFoundError):
            (self.dir / ERROR_FILE).unlink()

    async def _start(self) -> None:
        opts = self.opts
        try:  # the port first: a taken port should fail in milliseconds, not after PostgreSQL
            port = await self.router.start(opts.host, opts.port)
        except OSError as exc:
            raise StartupError(f"port {opts.port} is not available: {exc.strerror}", 2) from None
        self.admin = AdminServer(token=secrets.token_urlsafe(24))
        add_router_routes(self.admin, self.router)
        add_control_routes(self.admin, self)
        admin_port = await self.admin.start(opts.host)
        keys = load_secrets(self.dir)
        self.info.router_url = f"http://{opts.host}:{port}"
        self.info.control_url = f"http://{opts.host}:{admin_port}"
        self.info.metrics_url = f"{self.info.control_url}/metrics"
        self.info.token = self.admin.token or ""
        self.info.admin_key = keys["admin_key"]
        self.info.log = str(self.dir / "supervisor.log")
        self.info.started_at = time.time()
        self.save()
        self._base_env = {
            **os.environ,
            "GAMEBACKEND_ADMIN_KEY": keys["admin_key"],
            "GAMEBACKEND_SECRET": keys["token_secret"],
        }
        await self._start_datastores()
        self.stable = self.new_taskset(opts.version, {}, "stable", opts.replicas)
        self.router.set_targets("stable", self.stable.addrs)
        await self._await_healthy(self.stable, opts.startup_timeout)
        self.spawn(self._health_loop())
        self.info.status = "ready"
        self.save()
        print(f"sandbox ready: router {self.info.router_url}", flush=True)

    async def _start_datastores(self) -> None:
        if not self.opts.datastores:
            return
        try:
            from gamebackend.embedded import EmbeddedServers
        except ImportError as exc:
            raise StartupError(f"the reference backend is not installed: {exc}") from None
        data_dir = self.dir / "data"
        self._servers = await asyncio.to_thread(lambda: EmbeddedServers(data_dir).start())
        self.info.database_url = self._servers.database_url
        self.info.redis_url = self._servers.redis_url
        self._base_env["DATABASE_URL"] = self._servers.database_url
        self._base_env["REDIS_URL"] = self._servers.redis_url
        self.save()

    async def _await_healthy(self, ts: TaskSetRuntime, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            await ts.check()
            if ts.healthy:
                return
            if ts.state == "unhealthy" and any(not p.alive() for p in ts.procs):
                raise StartupError(f"stable task set {ts.version} failed: {ts.reason}")
            if time.monotonic() > deadline:
                raise StartupError(f"stable task set not ready after {timeout:.0f}s: {ts.reason}")
            await asyncio.sleep(0.2)

    # -- task sets ----------------------------------------------------------------------
    def new_taskset(
        self, version: str, env: dict[str, str], role: str, replicas: int
    ) -> TaskSetRuntime:
        self._serial += 1
        ts = TaskSetRuntime(
            ts_id=f"{role}-{version}-{self._serial}",
            version=version,
            role=role,
            env_overrides=env,
            command=self.opts.command(),
            base_env=self._base_env,
            replicas=replicas,
            log_dir=self.dir / "logs",
        )
        ts.start()
        self.save()
        return ts

    def retire(self, ts: TaskSetRuntime) -> None:
        """Stop sending new requests to ``ts``; stop its processes once drained."""
        ts.role, ts.state = "draining", "draining"
        self.draining.append(ts)
        self.spawn(self._drain(ts))

    async def _drain(self, ts: TaskSetRuntime) -> None:
        await asyncio.sleep(self.opts.drain_delay)
        deadline = time.monotonic() + self.opts.drain_timeout
        addrs = [f"{h}:{p}" for h, p in ts.addrs]
        while any(self.router.busy(a) for a in addrs) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await ts.stop(self.opts.stop_timeout)
        for addr in addrs:
            self.router.forget(addr)
        if ts in self.draining:
            self.draining.remove(ts)
        self.save()

    async def _health_loop(self) -> None:
        while True:
            # A starting task set is probed often, so a deployment waits for its readiness,
            # not for the next tick (a backend is ready in ~2 s; a 1 s tick added up to 1 s).
            starting = any(
                t is not None and t.state == "starting" for t in (self.stable, self.canary)
            )
            await asyncio.sleep(min(STARTING_PROBE_S, self.opts.health_interval) if starting
                                else self.opts.health_interval)  # fmt: skip
            for ts in (self.stable, self.canary):
                if ts is None:
                    continue
                try:
                    await ts.check()
                except Exception:  # a probe bug must not stop health checking for good
                    traceback.print_exc()

    def spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # -- state ---------------------------------------------------------------------------
    def tasksets(self) -> list[TaskSetRuntime]:
        return [t for t in (self.stable, self.canary, *self.draining) if t is not None]

    def save(self) -> None:
        self.info.process_groups = [p.pid for t in self.tasksets() for p in t.procs if p.pid]
        self.info.save(self.dir)

    def state(self) -> dict[str, Any]:
        stable, canary = self.router.weights
        return {
            **self.info.public(),
            "weights": {"stable": stable, "canary": canary},
            "stable": self.stable.to_json() if self.stable else None,
            "canary": self.canary.to_json() if self.canary else None,
            "draining": [t.to_json() for t in self.draining],
            "router": self.router.describe(),
        }

    # -- stop ----------------------------------------------------------------------------
    async def _teardown(self) -> None:
        self.info.status = "stopping"
        with contextlib.suppress(OSError):
            self.save()
        for task in list(self._tasks):
            task.cancel()
        await self.router.close()
        await asyncio.gather(*(t.stop(self.opts.stop_timeout) for t in self.tasksets()))
        if self._servers is not None:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(self._servers.stop)
        if self.admin is not None:
            await self.admin.close()
        with contextlib.suppress(FileNotFoundError):
            (self.dir / SANDBOX_FILE).unlink()
        if self._lock_fd is not None:
            os.close(self._lock_fd)
            self._lock_fd = None


async def _amain(opts: SandboxOptions) -> int:
    sup = Supervisor(opts)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, sup.stopping.set)
    try:
        await sup.run()
    except StartupError as exc:
        _report(opts.dir, str(exc), exc.exit_code)
        return exc.exit_code
    except Exception as exc:  # one line for the CLI; the traceback stays in the log
        traceback.print_exc()
        _report(opts.dir, f"{type(exc).__name__}: {exc}", 1)
        return 1
    return 0


def _report(directory: Path, message: str, code: int) -> None:
    print(f"error: {message}", file=sys.stderr, flush=True)
    with contextlib.suppress(OSError):
        path = directory / ERROR_FILE
        path.write_text(f"{code}\n{message}\n")


def main(argv: list[str] | None = None) -> None:
    from canaryctl.platforms.local.control import parse_options
    from canaryctl.platforms.local.standalone import install_uvloop

    opts = parse_options(argv)
    install_uvloop()
    raise SystemExit(asyncio.run(_amain(opts)))


if __name__ == "__main__":
    main()
