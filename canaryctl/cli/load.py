"""``canaryctl load``: play a realistic mix of the backend's calls against the router."""

from __future__ import annotations

import json
from typing import Annotated

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
) -> None:
    """Open-loop load at a profile's rate; prints a JSON summary (requests, errors, latency,
    WebSocket players, matchmaking). Ctrl-C stops it cleanly (exit 130, summary printed)."""
    import asyncio

    from canaryctl.load import LoadOptions, check_options, check_target, run_until_signal
    from canaryctl.load.discover import sandbox_admin_key

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
    opts.target = check_target(target, allow_remote)
    opts.admin_key = admin_key or sandbox_admin_key(opts.target)
    summary = asyncio.run(run_until_signal(opts))
    print(json.dumps(summary, indent=2), flush=True)
    if summary.get("interrupted"):
        raise typer.Exit(130)
