"""``canaryctl sandbox up|status|down``: the local platform (backend processes + weighted router).

Thin: parses flags and renders; the work is in ``canaryctl.platforms.local.lifecycle``.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from canaryctl.cli.main import app

if TYPE_CHECKING:
    from canaryctl.platforms.local.sandboxfile import SandboxInfo

__all__ = ["sandbox_app"]

sandbox_app = typer.Typer(
    name="sandbox",
    help=(
        "The local platform: embedded PostgreSQL and Redis, the backend's stable task set and "
        "a weighted router standing in for the ALB."
    ),
    no_args_is_help=True,
)
app.add_typer(sandbox_app, name="sandbox")


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


DirOpt = Annotated[
    Path, typer.Option("--dir", help="Sandbox state directory (sandbox.json, logs, data).")
]
OutputOpt = Annotated[OutputFormat, typer.Option("--output", "-o", help="text or json.")]


@sandbox_app.command("up")
def up(
    replicas: Annotated[int, typer.Option(help="Backend processes in the stable task set.")] = 2,
    port: Annotated[int, typer.Option(help="The router's port on 127.0.0.1.")] = 8080,
    directory: DirOpt = Path(".sandbox"),
    version: Annotated[str, typer.Option(help="Version label of the stable task set.")] = "v1",
    detach: Annotated[
        bool, typer.Option("--detach", "-d", help="Return once ready; stop with `sandbox down`.")
    ] = False,
    backend: Annotated[
        list[str] | None,
        typer.Option(hidden=True, help="Backend command, one argv element per flag; {port}."),
    ] = None,
    no_datastores: Annotated[bool, typer.Option(hidden=True)] = False,
    drain_delay: Annotated[float, typer.Option(hidden=True)] = 1.0,
    stop_timeout: Annotated[float, typer.Option(hidden=True)] = 10.0,
) -> None:
    """Start the sandbox (in the foreground unless --detach; Ctrl-C stops everything)."""
    from canaryctl.platforms.local import lifecycle
    from canaryctl.platforms.local.control import SandboxOptions

    opts = SandboxOptions(
        dir=directory,
        port=port,
        replicas=replicas,
        version=version,
        backend=list(backend or []),
        datastores=not no_datastores,
        drain_delay=drain_delay,
        stop_timeout=stop_timeout,
    )

    def ready(info: SandboxInfo) -> None:
        print(f"sandbox ready in {directory}")
        print(f"  router   {info.router_url}   (stable {version} x{replicas})")
        print(f"  control  {info.control_url}   metrics {info.metrics_url}")
        if not detach:
            print("Ctrl-C stops the sandbox.", flush=True)

    lifecycle.up(opts, detach=detach, on_ready=ready)


@sandbox_app.command("status")
def status(directory: DirOpt = Path(".sandbox"), output: OutputOpt = OutputFormat.text) -> None:
    """Task sets, weights and URLs of the running sandbox (exit 2 when none runs)."""
    from canaryctl.platforms.local import lifecycle
    from canaryctl.platforms.local.sandboxfile import no_sandbox

    state = lifecycle.status(directory)
    if state is None:
        raise no_sandbox(directory)
    if output == OutputFormat.json:
        print(json.dumps(state, indent=2))
        return
    _render(state)


def _render(state: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    w = state["weights"]
    console.print(
        f"router  {state['router_url']}   weights stable {w['stable']}% / canary {w['canary']}%"
    )
    console.print(f"control {state['control_url']}   pid {state['pid']}   dir {state['dir']}")
    table = Table("role", "version", "task set", "state", "processes", "ports")
    rows = [state.get("stable"), state.get("canary"), *state.get("draining", [])]
    for ts in filter(None, rows):
        procs = ts["processes"]
        ports = ", ".join(str(p["port"]) for p in procs)
        state_text = ts["state"] + (f" ({ts['reason']})" if ts.get("reason") else "")
        table.add_row(
            ts["role"],
            ts["version"],
            ts["id"],
            state_text,
            f"{ts['running']}/{ts['desired']}",
            ports,
        )
    console.print(table)


@sandbox_app.command("down")
def down(
    directory: DirOpt = Path(".sandbox"),
    timeout: Annotated[float, typer.Option(help="Seconds to wait before forcing.")] = 60.0,
) -> None:
    """Stop every process the sandbox started (idempotent)."""
    from canaryctl.platforms.local import lifecycle

    result = lifecycle.down(directory, timeout)
    if not result["running"]:
        extra = (
            f"; killed leftover groups {result['killed_groups']}" if result["killed_groups"] else ""
        )
        print(f"no sandbox running in {directory}{extra}", file=sys.stderr)
        return
    how = " (forced)" if result.get("forced") else ""
    print(f"sandbox in {directory} stopped{how}")
