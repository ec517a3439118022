"""The sandbox's control API (served on the admin port next to ``/metrics``).

    GET    /v1/state                          task sets, weights, URLs
    GET    /v1/targets                        the backend processes, in Prometheus' HTTP
                                              service-discovery format (``http_sd_configs``)
    POST   /v1/tasksets  {"version", "env"}   start the canary task set (at 0% traffic);
                                              the same version again returns the existing one,
                                              another version while one runs → 409 canary_exists
    PUT    /v1/weights   {"stable", "canary", "expected"?}
                                              409 drift / no_canary / canary_unhealthy
    POST   /v1/promote                        canary → stable at 100%, old stable drained+stopped
    POST   /v1/rollback                       100% stable, canary drained+stopped (no canary: no-op)
    POST   /v1/shutdown                       stop the sandbox

Mutating calls need the ``X-Sandbox-Token`` from ``sandbox.json``.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from canaryctl.platforms.local.admin import apply_weights
from canaryctl.platforms.local.httpserver import AdminServer, HttpError, HttpRequest, HttpResponse

if TYPE_CHECKING:
    from canaryctl.platforms.local.supervisor import Supervisor

__all__ = ["SandboxOptions", "add_control_routes", "parse_options"]

_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass
class SandboxOptions:
    """How to run the sandbox. ``backend`` is the command of one backend process, ``{port}``
    replaced by its port; empty means the installed ``gamebackend serve``."""

    dir: Path = Path(".sandbox")
    port: int = 8080
    replicas: int = 2
    version: str = "v1"
    host: str = "127.0.0.1"
    backend: list[str] = field(default_factory=list)
    datastores: bool = True
    startup_timeout: float = 90.0
    drain_delay: float = 1.0
    drain_timeout: float = 30.0
    stop_timeout: float = 10.0
    health_interval: float = 1.0

    def command(self) -> list[str]:
        if self.backend:
            return list(self.backend)
        exe = Path(sys.executable).with_name("gamebackend")
        program = str(exe) if exe.exists() else (shutil.which("gamebackend") or "gamebackend")
        return [program, "serve", "--host", "127.0.0.1", "--port", "{port}"]

    def to_argv(self) -> list[str]:
        argv = ["--dir", str(self.dir), "--port", str(self.port), "--replicas", str(self.replicas)]
        argv += ["--version", self.version, "--drain-delay", str(self.drain_delay)]
        argv += ["--stop-timeout", str(self.stop_timeout)]
        if not self.datastores:
            argv.append("--no-datastores")
        for part in self.backend:
            argv.append(f"--backend={part}")
        return argv


def parse_options(argv: list[str] | None) -> SandboxOptions:
    p = argparse.ArgumentParser(prog="python -m canaryctl.platforms.local.supervisor")
    p.add_argument("--dir", type=Path, default=Path(".sandbox"))
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--replicas", type=int, default=2)
    p.add_argument("--version", default="v1")
    p.add_argument("--backend", action="append", default=[], help="one argv element per flag")
    p.add_argument("--no-datastores", action="store_true")
    p.add_argument("--drain-delay", type=float, default=1.0)
    p.add_argument("--stop-timeout", type=float, default=10.0)
    ns = p.parse_args(argv)
    return SandboxOptions(
        dir=ns.dir,
        port=ns.port,
        replicas=ns.replicas,
        version=ns.version,
        backend=ns.backend,
        datastores=not ns.no_datastores,
        drain_delay=ns.drain_delay,
        stop_timeout=ns.stop_timeout,
    )


def _canary_request(data: dict[str, object]) -> tuple[str, dict[str, str], int | None]:
    version = data.get("version")
    if not isinstance(version, str) or not _VERSION.match(version):
        raise HttpError(400, f"version must match {_VERSION.pattern}, got {version!r}")
    env = data.get("env") or {}
    if not isinstance(env, dict) or not all(
        isinstance(k, str) and _ENV_KEY.match(k) and isinstance(v, str) for k, v in env.items()
    ):
        raise HttpError(400, "env must map variable names to strings")
    replicas = data.get("replicas")
    if replicas is not None and (not isinstance(replicas, int) or not 1 <= replicas <= 16):
        raise HttpError(400, "replicas must be an integer in 1..16")
    return version, env, replicas


def add_control_routes(server: AdminServer, sup: Supervisor) -> None:
    async def state(req: HttpRequest) -> HttpResponse:
        return HttpResponse.json(sup.state())

    async def targets(req: HttpRequest) -> HttpResponse:
        # Every running process of every task set (a draining one still answers requests),
        # so a Prometheus can scrape the backends' own /metrics; their series carry the
        # version themselves, ``task_set`` is added for dashboards.
        groups = []
        for ts in sup.tasksets():
            addrs = [f"127.0.0.1:{p.port}" for p in ts.procs if p.alive()]
            if addrs:
                groups.append({"targets": addrs, "labels": {"task_set": ts.id}})
        return HttpResponse.json(groups)

    async def start_canary(req: HttpRequest) -> HttpResponse:
        version, env, replicas = _canary_request(req.json())
        async with sup.mutex:
            current = sup.canary
            if current is not None:
                if current.version != version:
                    raise HttpError(
                        409,
                        f"a canary of version {current.version} is already running "
                        f"(task set {current.id}); roll it back first",
                        "canary_exists",
                    )
                return HttpResponse.json(current.to_json(), 200)
            ts = sup.new_taskset(version, env, "canary", replicas or sup.opts.replicas)
            sup.canary = ts
            sup.router.set_targets("canary", ts.addrs)
            return HttpResponse.json(ts.to_json(), 201)

    async def weights(req: HttpRequest) -> HttpResponse:
        data = req.json()
        async with sup.mutex:
            canary = data.get("canary")
            if isinstance(canary, int) and canary > 0:
                if sup.canary is None:
                    raise HttpError(409, "no canary task set to send traffic to", "no_canary")
                if not sup.canary.healthy:
                    why = sup.canary.reason or sup.canary.state
                    raise HttpError(409, f"canary is not healthy: {why}", "canary_unhealthy")
            return HttpResponse.json(apply_weights(sup.router, data))

    async def promote(req: HttpRequest) -> HttpResponse:
        async with sup.mutex:
            canary = sup.canary
            if canary is None:  # already promoted (or nothing to promote): converge, no-op
                return HttpResponse.json(sup.state())
            if not canary.healthy:
                why = canary.reason or canary.state
                raise HttpError(409, f"canary is not healthy: {why}", "canary_unhealthy")
            old = sup.stable
            sup.router.promote()
            canary.role = "stable"
            sup.stable, sup.canary = canary, None
            if old is not None:
                sup.retire(old)
            sup.save()
            return HttpResponse.json(sup.state())

    async def rollback(req: HttpRequest) -> HttpResponse:
        async with sup.mutex:
            canary = sup.canary
            if sup.stable is not None:
                sup.router.set_weights(100, 0)
            if canary is not None:
                sup.router.set_targets("canary", [])
                sup.canary = None
                sup.retire(canary)
                sup.save()
            return HttpResponse.json(sup.state())

    async def shutdown(req: HttpRequest) -> HttpResponse:
        sup.stopping.set()
        return HttpResponse.json({"status": "stopping"})

    server.route("GET", "/v1/state", state)
    server.route("GET", "/v1/targets", targets)
    server.route("POST", "/v1/tasksets", start_canary)
    server.route("PUT", "/v1/weights", weights)
    server.route("POST", "/v1/promote", promote)
    server.route("POST", "/v1/rollback", rollback)
    server.route("POST", "/v1/shutdown", shutdown)
