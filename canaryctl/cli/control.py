"""``status``, ``history``, ``promote``, ``abort``, ``pause``, ``resume``.

A control command posts its request into the state store. If the deployment's engine is
alive it acts on it within a second and the command waits for the result; if nobody runs the
deployment any more (its process crashed or exited at a pause), the command takes charge and
carries the action out itself.
"""

# No `from __future__ import annotations` here: Typer builds every command's parameters for
# any --help, and string annotations cost it an eval each (about 10% of `canaryctl --help`).

from typing import Annotated, Any

import typer

from canaryctl.cli.main import app

__all__ = ["abort", "history", "pause", "promote", "resume", "status"]

StateDir = Annotated[
    str | None,
    typer.Option(
        "--state",
        "--state-dir",
        help="Where records and locks live: s3://BUCKET/PREFIX or a directory "
        "[env CANARYCTL_STATE; default $CANARYCTL_STATE_DIR or .canaryctl].",
    ),
]
Output = Annotated[str | None, typer.Option("--output", "-o", help="text or json.")]
Timeout = Annotated[
    float, typer.Option("--timeout", help="Seconds to wait for a running engine to act.")
]
DeploymentId = Annotated[str, typer.Argument(help="Deployment id (see `canaryctl history`).")]

# What each request must lead to, for the command to succeed.
_GOAL = {"abort": {"rolled_back"}, "promote": {"promoted"}, "pause": {"paused"}}


def _wait_for(
    store: Any, deployment_id: str, request_id: str, action: str, timeout: float
) -> dict[str, Any]:
    import time

    from canaryctl.errors import CanaryError
    from canaryctl.rollout.record import engine_alive, status_of

    deadline = time.monotonic() + timeout
    while True:
        record: dict[str, Any] = store.load(deployment_id)
        handled = any(r.get("id") == request_id for r in record.get("requests", []))
        if handled and status_of(record) in _GOAL[action] | {"failed", "promoted", "rolled_back"}:
            return record
        if not engine_alive(record):
            return record  # the engine stopped (or was never there): the caller takes over
        if time.monotonic() > deadline:
            raise CanaryError(
                f"the engine of {deployment_id} did not act on {action} within {timeout:g}s "
                "(the request stays posted)"
            )
        time.sleep(0.25)


def _control(
    action: str, deployment_id: str, state_dir: str | None, output: str | None, timeout: float
) -> None:
    import secrets

    from canaryctl.cli import runtime as rt
    from canaryctl.errors import InvalidInput
    from canaryctl.rollout.record import engine_alive, status_of

    mode = rt.output_mode(output)
    store = rt.store_for(state_dir)
    record = store.load(deployment_id)
    status = status_of(record)
    if status in ("promoted", "rolled_back", "unchanged"):
        if status not in _GOAL[action]:
            raise InvalidInput(f"deployment {deployment_id} is already {status.replace('_', ' ')}")
        rt.emit(record, mode)
        raise SystemExit(0)
    request_id = secrets.token_hex(6)
    store.post_request(deployment_id, {"id": request_id, "action": action, "by": rt.operator()})
    if engine_alive(record):
        record = _wait_for(store, deployment_id, request_id, action, timeout)
    if not engine_alive(record):
        record = store.load(deployment_id)
        handled = any(r.get("id") == request_id for r in record.get("requests", []))
        if not handled:  # nobody is in charge: carry the request out here
            record = rt.run_engine(store, record, mode=mode)
    code = rt.emit(record, mode)
    raise SystemExit(0 if status_of(record) in _GOAL[action] else code)


@app.command(rich_help_panel="Deployments")
def abort(
    deployment_id: DeploymentId,
    state_dir: StateDir = None,
    output: Output = None,
    timeout: Timeout = 120.0,
) -> None:
    """Roll the deployment back now (100% to stable, canary removed). Exit 0 when rolled back."""
    _control("abort", deployment_id, state_dir, output, timeout)


@app.command(rich_help_panel="Deployments")
def promote(
    deployment_id: DeploymentId,
    state_dir: StateDir = None,
    output: Output = None,
    timeout: Timeout = 120.0,
) -> None:
    """Skip the remaining steps and promote the canary now. Exit 0 when promoted."""
    _control("promote", deployment_id, state_dir, output, timeout)


@app.command(rich_help_panel="Deployments")
def pause(
    deployment_id: DeploymentId,
    state_dir: StateDir = None,
    output: Output = None,
    timeout: Timeout = 120.0,
) -> None:
    """Pause the deployment at its current weights until `canaryctl resume`. Exit 0 when paused."""
    _control("pause", deployment_id, state_dir, output, timeout)


@app.command(rich_help_panel="Deployments")
def resume(
    deployment_id: DeploymentId,
    state_dir: StateDir = None,
    output: Output = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="At a later pause, wait instead of exiting 4.")
    ] = False,
) -> None:
    """Continue a paused, interrupted or failed deployment (also after a crash).

    Exit codes as deploy's."""
    import secrets
    import sys

    from canaryctl.cli import runtime as rt
    from canaryctl.rollout.record import engine_alive, status_of

    mode = rt.output_mode(output)
    store = rt.store_for(state_dir)
    record = store.load(deployment_id)
    if status_of(record) in ("promoted", "rolled_back", "unchanged"):
        raise SystemExit(rt.emit(record, mode))
    if engine_alive(record):
        if record["phase"] != "paused":
            engine = record["engine"]
            sys.stderr.write(
                f"deployment {deployment_id} is running (pid {engine.get('pid')} on "
                f"{engine.get('host')}); nothing to resume\n"
            )
            if mode == "json":
                rt.emit(record, mode)
            raise SystemExit(0)
        request_id = secrets.token_hex(6)
        store.post_request(
            deployment_id, {"id": request_id, "action": "resume", "by": rt.operator()}
        )
        sys.stderr.write(f"asked the running engine of {deployment_id} to resume\n")
        raise SystemExit(0)
    record = rt.run_engine(store, record, mode=mode, resume=True, wait=wait)
    raise SystemExit(rt.emit(record, mode))


@app.command(rich_help_panel="Deployments")
def status(
    deployment_id: Annotated[
        str | None, typer.Argument(help="Deployment id (default: the latest).")
    ] = None,
    state_dir: StateDir = None,
    output: Output = None,
) -> None:
    """Show a deployment: a live view while it runs (on a terminal), the record after."""
    import sys
    import time

    from canaryctl.cli import runtime as rt
    from canaryctl.errors import DeploymentNotFound
    from canaryctl.report.summary import summary
    from canaryctl.rollout.record import engine_alive

    mode = rt.output_mode(output)
    store = rt.store_for(state_dir)
    if deployment_id is None:
        latest = store.list(limit=1)
        if not latest:
            raise DeploymentNotFound(f"no deployments in {store.root}")
        deployment_id = latest[0]["id"]
    record = store.load(deployment_id)
    if mode == "json":
        sys.stdout.write(__import__("json").dumps(summary(record, time.time()), indent=2) + "\n")
        return
    from rich.console import Console

    from canaryctl.report.live import final_report, render

    console = Console(highlight=False)
    if engine_alive(record) and sys.stdout.isatty():
        from rich.live import Live

        with Live(render(record), console=console, refresh_per_second=2) as live:
            try:
                while engine_alive(record):
                    time.sleep(1.0)
                    record = store.load(deployment_id)
                    live.update(render(record))
            except KeyboardInterrupt:
                return
    console.print(render(record) if engine_alive(record) else final_report(record))


@app.command(rich_help_panel="Deployments")
def history(
    service: Annotated[str | None, typer.Option("--service", help="Only this service.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first.")] = 20,
    state_dir: StateDir = None,
    output: Output = None,
) -> None:
    """List recent deployments, newest first."""
    import json
    import sys

    from canaryctl.cli import runtime as rt
    from canaryctl.report.summary import iso
    from canaryctl.rollout.record import status_of

    mode = rt.output_mode(output)
    records = rt.store_for(state_dir).list(service, limit)
    rows = [
        {
            "deployment_id": r["id"],
            "service": r["service"],
            "stable_version": r.get("stable_version"),
            "canary_version": r.get("canary_version"),
            "status": status_of(r),
            "phase": r["phase"],
            "started_at": iso(r.get("created_at")),
            "duration_s": round(r["finished_at"] - r["created_at"], 1)
            if r.get("finished_at")
            else None,
            "reason": r.get("reason", ""),
        }
        for r in records
    ]
    if mode == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    from rich.console import Console
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for col in ("deployment", "versions", "status", "took"):
        table.add_column(col, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for row in rows:
        took = f"{row['duration_s']:g}s" if row["duration_s"] is not None else "-"
        versions = f"{row['stable_version'] or '?'} → {row['canary_version']}"
        table.add_row(row["deployment_id"], versions, row["status"], took, row["reason"])
    Console(highlight=False).print(table if rows else "no deployments yet")
