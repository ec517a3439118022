"""The router as a process of its own (benchmarks and tests); the sandbox embeds it instead."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
from pathlib import Path

from canaryctl.platforms.local.admin import add_router_routes
from canaryctl.platforms.local.httpserver import AdminServer
from canaryctl.platforms.local.router import Router

__all__ = ["install_uvloop", "parse_addr", "run_standalone"]


def parse_addr(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit():
        raise argparse.ArgumentTypeError(f"expected HOST:PORT, got {text!r}")
    return host, int(port)


def install_uvloop() -> bool:
    """Use uvloop when it is installed: the router's hot path is mostly event-loop work."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover - uvloop ships with uvicorn[standard]
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def _args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m canaryctl.platforms.local.router")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--admin-port", type=int, default=0)
    p.add_argument("--stable", type=parse_addr, action="append", default=[])
    p.add_argument("--canary", type=parse_addr, action="append", default=[])
    p.add_argument("--weights", default="100/0", help="STABLE/CANARY, e.g. 90/10")
    p.add_argument("--ready-file", type=Path, help="write {port, admin_port} here when listening")
    p.add_argument("--no-uvloop", action="store_true")
    return p.parse_args(argv)


async def _serve(ns: argparse.Namespace) -> None:
    router = Router()
    router.set_targets("stable", ns.stable)
    router.set_targets("canary", ns.canary)
    stable, _, canary = ns.weights.partition("/")
    router.set_weights(int(stable), int(canary))
    port = await router.start(ns.host, ns.port)
    admin = AdminServer()
    add_router_routes(admin, router)
    admin_port = await admin.start(ns.host, ns.admin_port)
    if ns.ready_file:
        tmp = ns.ready_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"port": port, "admin_port": admin_port, "pid": os.getpid()}))
        tmp.replace(ns.ready_file)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await admin.close()
    await router.close()


def run_standalone(argv: list[str] | None = None) -> None:
    ns = _args(argv)
    if not ns.no_uvloop:
        install_uvloop()
    asyncio.run(_serve(ns))
