"""``canaryctl load``: play a realistic mix of the backend's calls against the router."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from canaryctl.cli.main import app

__all__ = ["load"]


def _seconds(flag: str, text: str) -> float:
    from canaryctl.errors import InvalidInput

    try:
        value = float(text)
    except ValueError:
        from canaryctl.config.units import parse_duration

        try:
            value = parse_duration(text)
        except ValueError as exc:
            raise InvalidInput(f"{flag}: {exc}") from None
    if value <= 0:
        raise InvalidInput(f"{flag}: must be positive, got {text!r}")
    return value


@app.command("load")
def load(
    target: Annotated[
        str, typer.Option(help="Base http:// or https:// URL (the sandbox router).")
    ] = ("http://127.0.0.1:8080"),
    profile: Annotated[str, typer.Option(help="steady | ramp | spike | launch.")] = "steady",
    rps: Annotated[float, typer.Option(help="Peak arrival rate, requests per second.")] = 30.0,
    duration: Annotated[str, typer.Option(help="How long, e.g. 30s, 2m (at most 24h).")] = "30s",
    max_requests: Annotated[int | None, typer.Option(help="Stop after this many requests.")] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at most.")] = 64,
    ws_players: Annotated[
        int,
        typer.Option(help="WebSocket players following the curve, at most (0..5000)."),
    ] = 0,
    matchmaking: Annotated[
        float | None,
        typer.Option(
            help="Share of the actions that queue for a match "
            "(default: 0.1 with --profile launch or --ws-players, else 0)."
        ),
    ] = None,
    ws_ping_interval: Annotated[
        str, typer.Option(help="How often each WebSocket player pings, e.g. 5s.")
    ] = "5s",
    admin_key: Annotated[
        str | None,
        typer.Option(
            envvar="GAMEBACKEND_ADMIN_KEY",
            help="Backend admin key for credits (default: the sandbox's).",
        ),
    ] = None,
    allow_remote: Annotated[
        bool, typer.Option(help="Allow a target that is not a loopback address.")
    ] = False,
    seed: Annotated[int | None, typer.Option(help="Random seed (reproducible mix).")] = None,
    runner: Annotated[
        str, typer.Option(help="canaryctl (this process) | k6 (the same profile, run by k6).")
    ] = "canaryctl",
    script: Annotated[
        str | None, typer.Option(help="With --runner k6: your own k6 script instead.")
    ] = None,
    emit_k6: Annotated[
        str | None,
        typer.Option(help="Write the profile as a k6 script to this file, and send nothing."),
    ] = None,
) -> None:
    """Open-loop load at a profile's rate; prints a JSON summary (requests, errors, latency,
    WebSocket players, matchmaking). Ctrl-C stops it cleanly (exit 130, summary printed).
    With --runner k6 the profile is played by k6 (ramping-arrival-rate stages); --emit-k6
    writes that script for k6's own runners."""
    import asyncio

    from canaryctl.load import LoadOptions, check_options, check_target, run_until_signal
    from canaryctl.load.discover import sandbox_admin_key

    _check_runner(runner, script, emit_k6, ws_players, matchmaking)
    opts = LoadOptions(
        target=target,
        profile=profile,
        rps=rps,
        duration=_seconds("--duration", duration),
        max_requests=max_requests,
        concurrency=concurrency,
        allow_remote=allow_remote,
        seed=seed,
        ws_players=ws_players,
        matchmaking=matchmaking,
        ws_ping_interval=_seconds("--ws-ping-interval", ws_ping_interval),
    )
    check_options(opts)
    if emit_k6 is not None:
        _emit(opts, emit_k6)
        return
    opts.target = check_target(target, allow_remote)
    opts.admin_key = admin_key or sandbox_admin_key(opts.target)
    summary = _run_k6(opts, script) if runner == "k6" else asyncio.run(run_until_signal(opts))
    print(json.dumps(summary, indent=2), flush=True)
    if summary.get("interrupted"):
        raise typer.Exit(130)


def _check_runner(
    runner: str, script: str | None, emit_k6: str | None, ws_players: int, matchmaking: Any
) -> None:
    from canaryctl.errors import InvalidInput

    if runner not in ("canaryctl", "k6"):
        raise InvalidInput(f"--runner: canaryctl or k6, got {runner!r}")
    if script is not None and runner != "k6":
        raise InvalidInput("--script: a k6 script runs on k6: add --runner k6")
    if script is not None and emit_k6 is not None:
        raise InvalidInput(
            "--emit-k6: writes canaryctl's profile; it has nothing to add to --script"
        )
    if runner == "k6" or emit_k6 is not None:
        flag = "--ws-players" if ws_players else "--matchmaking" if matchmaking else None
        if flag:
            raise InvalidInput(f"{flag}: canaryctl's own generator only (not --runner k6)")


def _emit(opts: Any, path: str) -> None:
    from canaryctl.errors import InvalidInput
    from canaryctl.load.k6script import render, stages
    from canaryctl.load.profiles import PROFILES

    profile = PROFILES[opts.profile]
    text = render(profile, opts.rps, opts.duration, opts.concurrency, opts.target)
    try:
        Path(path).write_text(text)
    except OSError as exc:
        raise InvalidInput(f"--emit-k6: cannot write {path}: {exc.strerror}") from None
    plan = stages(profile, opts.rps, opts.duration, opts.concurrency)
    print(
        f"wrote {path}: profile {opts.profile}, peak {opts.rps:g} requests/s for "
        f"{opts.duration:g}s in {len(plan.stages)} stages, about {plan.iterations():.0f} "
        f"requests; run: CANARYCTL_TARGET={opts.target} k6 run {path}",
        file=sys.stderr,
    )


def _run_k6(opts: Any, script: str | None) -> dict[str, Any]:
    from canaryctl.load.k6 import K6Options, start_k6

    handle = start_k6(
        K6Options(
            opts.target, opts.profile, opts.rps, opts.duration, script=script,
            admin_key=opts.admin_key, max_vus=opts.concurrency, allow_remote=opts.allow_remote,
        )
    )  # fmt: skip
    try:
        summary = handle.wait()
    except KeyboardInterrupt:
        summary = None
    if summary is None:  # interrupted here: k6 (a session of its own) is told, and reports
        summary = handle.stop()
        summary["interrupted"] = True
    return summary
