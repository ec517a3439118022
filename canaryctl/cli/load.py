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
    target: Annotated[str, typer.Option(help="Base URL (the sandbox router).")] = (
        "http://127.0.0.1:8080"
    ),
    profile: Annotated[str, typer.Option(help="steady | ramp | spike.")] = "steady",
    rps: Annotated[float, typer.Option(help="Peak arrival rate, requests per second.")] = 30.0,
    duration: Annotated[str, typer.Option(help="How long, e.g. 30s, 2m.")] = "30s",
    max_requests: Annotated[int | None, typer.Option(help="Stop after this many requests.")] = None,
    concurrency: Annotated[int, typer.Option(help="Requests in flight at most.")] = 64,
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
    """Open-loop load at a profile's rate; prints a JSON summary (requests, errors, latency)."""
    import asyncio

    from canaryctl.errors import InvalidInput
    from canaryctl.load import PROFILES, LoadOptions, check_target, run
    from canaryctl.load.discover import sandbox_admin_key

    if profile not in PROFILES:
        raise InvalidInput(f"--profile: unknown {profile!r} (known: {', '.join(PROFILES)})")
    if not 0 < rps <= 20_000:
        raise InvalidInput(f"--rps: must be in (0, 20000], got {rps}")
    if not 1 <= concurrency <= 10_000:
        raise InvalidInput(f"--concurrency: must be 1..10000, got {concurrency}")
    if max_requests is not None and max_requests < 1:
        raise InvalidInput(f"--max-requests: must be at least 1, got {max_requests}")
    url = check_target(target, allow_remote)
    opts = LoadOptions(
        target=url,
        profile=profile,
        rps=rps,
        duration=_seconds("--duration", duration),
        max_requests=max_requests,
        concurrency=concurrency,
        admin_key=admin_key or sandbox_admin_key(url),
        allow_remote=allow_remote,
        seed=seed,
    )
    summary = asyncio.run(run(opts))
    print(json.dumps(summary, indent=2))
