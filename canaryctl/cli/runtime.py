"""What the deploy and control commands share: output mode, flag parsing, wiring the
engine to the platform, metric source and store of a record, and printing the outcome.

Imported inside command bodies only (it pulls in the engine, pydantic and rich)."""

from __future__ import annotations

import getpass
import json
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from canaryctl.errors import CanaryError, InvalidInput, LockHeld
from canaryctl.rollout.engine import Engine
from canaryctl.rollout.hooks import LoadHookRunner
from canaryctl.rollout.plan import Plan
from canaryctl.rollout.record import exit_code
from canaryctl.state import FileStateStore, open_store, store_from_config

if TYPE_CHECKING:
    from canaryctl.state.s3 import S3StateStore

    Store = FileStateStore | S3StateStore

__all__ = [
    "STATE_ENV",
    "describe_lock",
    "emit",
    "operator",
    "output_mode",
    "parse_env",
    "run_engine",
    "store_for",
    "validate_version",
]

STATE_ENV = "CANARYCTL_STATE"
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VERSION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")


def output_mode(flag: str | None) -> str:
    """``json`` or ``text``; by default json when stdout is not a terminal."""
    if flag is None:
        return "text" if sys.stdout.isatty() else "json"
    if flag not in ("text", "json"):
        raise InvalidInput(f"--output: must be text or json, got {flag!r}")
    return flag


def parse_env(items: Iterable[str] | None) -> dict[str, str]:
    env: dict[str, str] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not _ENV_KEY.match(key):
            raise InvalidInput(f"--env {item!r}: expected KEY=VALUE with KEY a variable name")
        env[key] = value
    return env


def validate_version(version: str) -> str:
    if not _VERSION.match(version):
        raise InvalidInput(
            f"--version {version!r}: use letters, digits, '.', '_', '+', '-' (at most 64)"
        )
    return version


def operator() -> str:
    """Who asked, for the record: user@host."""
    try:
        user = getpass.getuser()
    except Exception:  # no user name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def store_for(state: str | None = None, pipeline: Any = None) -> Store:
    """Where records and locks live: ``--state`` (or ``--state-dir``), else
    ``$CANARYCTL_STATE``, else the pipeline's ``state:``, else the file store under
    ``$CANARYCTL_STATE_DIR`` or ``./.canaryctl``. A location is ``s3://BUCKET/PREFIX`` or a
    directory. S3 without a region of its own uses the ECS platform's region."""
    region = getattr(getattr(pipeline, "platform", None), "region", None)
    location = state or os.environ.get(STATE_ENV)
    if location:
        return open_store(location, region=region)
    configured = getattr(pipeline, "state", None)
    if configured is not None:
        return store_from_config(configured, region=region)
    return open_store(None)


def describe_lock(store: Any, exc: LockHeld) -> LockHeld:
    """The lock error, with what the holder is doing and how to finish it when it is gone."""
    from canaryctl.rollout.record import engine_alive

    detail = ""
    try:
        held = store.load(exc.holder)
    except CanaryError:
        held = None
    if held is not None:
        detail = (
            f" ({held.get('stable_version') or '?'} → {held['canary_version']}, {held['phase']})"
        )
        if engine_alive(held) is False:
            detail += (
                f"; no process is running it: `canaryctl resume {exc.holder}` or "
                f"`canaryctl abort {exc.holder}`"
            )
    elif getattr(exc, "stale", False):
        detail = f"; its process (pid {getattr(exc, 'pid', '?')}) is gone"
    exc.args = (f"{exc}{detail}",)
    return exc


def _wire(record: dict[str, Any]) -> tuple[Any, Any]:
    """The platform and metric source a record was started with (from its snapshot)."""
    from canaryctl.config import pipeline_from_snapshot
    from canaryctl.metrics import create_source
    from canaryctl.platforms import create_platform

    pipeline = pipeline_from_snapshot(record["config"])
    base = Path(record.get("cwd") or ".")
    # A metric source's files (a replay recording) are relative to the pipeline file.
    files = base / Path(record["config"].get("pipeline_path") or "pipeline").parent
    try:
        platform = create_platform(pipeline.platform, service=pipeline.service, base_dir=base)
        metrics = create_source(
            pipeline.metrics, service=pipeline.service, base_dir=files, platform=platform
        )
    except ImportError as exc:
        raise CanaryError(
            f"this installation cannot run the pipeline's platform or metrics: {exc}"
        ) from None
    return platform, metrics


def traffic_url(platform: Any) -> str | None:
    """Where load hooks send traffic: the platform's ``traffic_url`` or its described URL."""
    url = getattr(platform, "traffic_url", None)
    if callable(url):
        url = url()
    if isinstance(url, str) and url:
        return url
    details = platform.describe().details
    for key in ("traffic_url", "router_url", "url"):
        if isinstance(details.get(key), str):
            return str(details[key])
    return None


def _hook_options(platform: Any) -> dict[str, Any]:
    # The local platform knows the sandbox's admin key (the load mix credits wallets with it).
    key = getattr(platform, "admin_key", None)
    return {"admin_key": key} if isinstance(key, str) and key else {}


def _reporter(mode: str) -> Any:
    if mode == "json":
        return None
    from canaryctl.report.live import EventPrinter, LiveReporter

    return LiveReporter() if sys.stdout.isatty() else EventPrinter()


def _clock(metrics: Any, record: dict[str, Any]) -> tuple[Callable[[], float], Any]:
    """The engine's clock: the wall clock, or a replay's faster or virtual one (``speed``),
    started no earlier than the record's last write so a resumed replay goes on in time."""
    clock = getattr(metrics, "clock", None)
    if clock is not None and type(clock).__name__ == "ReplayClock" and clock.speed != 1.0:
        from canaryctl.metrics.replay import ReplayClock

        start = max(time.time(), float(record.get("updated_at") or 0.0))
        replay = ReplayClock(clock.speed, start=start)
        return replay.time, replay.sleep
    return time.time, time.sleep


def run_engine(
    store: Any,
    record: dict[str, Any],
    *,
    mode: str,
    resume: bool = False,
    wait: bool = False,
) -> dict[str, Any]:
    """Wire and run the engine on ``record``; returns the record as it stopped."""
    try:
        platform, metrics = _wire(record)
    except CanaryError as exc:
        if record["phase"] == "pending":  # nothing happened yet: free the service
            record.update(phase="failed", reason=str(exc), finished_at=time.time())
            record["failed"] = {"during": "pending", "error": str(exc)}
            store.save(record)
            store.release(record["service"], record["id"])
        raise
    from canaryctl.report.timeline import TimelineSource

    reporter = _reporter(mode)
    clock, sleep = _clock(metrics, record)
    engine = Engine(
        plan=Plan.from_dict(record["plan"]),
        platform=platform,
        metrics=TimelineSource(metrics, record),  # keeps the chart's per-interval values
        store=store,
        clock=clock,
        sleep=sleep,
        hooks=LoadHookRunner(lambda: traffic_url(platform), lambda: _hook_options(platform)),
        observer=reporter,
        wait_on_pause=wait,
    )
    try:
        if reporter is None:
            return engine.run(record, resume=resume)
        with reporter:
            return engine.run(record, resume=resume)
    except KeyboardInterrupt:
        sys.stderr.write(
            f"interrupted: deployment {record['id']} stays at {record['phase']}; "
            f"`canaryctl resume {record['id']}` continues it, `canaryctl abort "
            f"{record['id']}` rolls it back\n"
        )
        raise SystemExit(130) from None
    finally:
        for closable in (metrics, platform):
            try:
                closable.close()
            except Exception as exc:  # closing must not hide the outcome
                sys.stderr.write(f"warning: could not close {closable!r}: {exc}\n")


def emit(record: dict[str, Any], mode: str) -> int:
    """Print the outcome (one JSON object, or the text report), write the job summary and
    (in GitHub Actions) the annotation, and return the exit code.

    With ``--output json`` stdout is the JSON document alone (workflows redirect it to a
    file), so the annotation goes to stderr; GitHub reads workflow commands on both."""
    from canaryctl.report.github import write_annotation
    from canaryctl.report.markdown import write_job_summary
    from canaryctl.report.summary import summary

    if mode == "json":
        sys.stdout.write(json.dumps(summary(record), indent=2) + "\n")
    else:
        from rich.console import Console

        from canaryctl.report.live import final_report

        Console(highlight=False).print(final_report(record))
    try:
        write_job_summary(record)
    except OSError as exc:
        sys.stderr.write(f"warning: could not write the job summary: {exc}\n")
    write_annotation(record, sys.stderr if mode == "json" else sys.stdout)
    return exit_code(record)
