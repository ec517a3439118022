"""``canaryctl deploy``: run a whole canary release from a pipeline file."""

# No `from __future__ import annotations` here: Typer builds every command's parameters for
# any --help, and string annotations cost it an eval each (about 10% of `canaryctl --help`).

from typing import Annotated, Any

import typer

from canaryctl.cli.main import app

__all__ = ["deploy"]


def _converge_target(
    store: Any, loaded: Any, version: str, release: dict[str, Any]
) -> dict[str, Any] | None:
    """The unfinished deployment of the same release and pipeline that nobody runs any more:
    re-running the same deploy continues it instead of refusing."""
    from canaryctl.errors import CanaryError
    from canaryctl.rollout.record import FINAL, Phase, engine_alive

    holder = store.holder(loaded.pipeline.service)
    if not holder:
        return None
    try:
        held = store.load(holder)
    except CanaryError:
        return None
    same = (
        held.get("canary_version") == version
        and (held.get("release") or {}) == release
        and held.get("config", {}).get("pipeline_path") == loaded.path
        and Phase(held["phase"]) not in FINAL - {Phase.FAILED}
    )
    return held if same and not engine_alive(held) else None


@app.command(rich_help_panel="Deployments")
def deploy(
    pipeline: Annotated[str, typer.Option("--pipeline", "-p", help="Pipeline file (YAML).")],
    version: Annotated[str, typer.Option("--version", help="Version to release as canary.")],
    env: Annotated[
        list[str] | None,
        typer.Option("--env", help="KEY=VALUE for the canary task set only (repeatable)."),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option(
            "--image",
            help="ECS: the image of the pipeline's container (platform.containerName), "
            "instead of platform.image's template.",
        ),
    ] = None,
    task_definition: Annotated[
        str | None,
        typer.Option(
            "--task-definition",
            help="ECS: a task definition file (JSON of `aws ecs describe-task-definition` or "
            "amazon-ecs-render-task-definition) or ARN to run, instead of the stable one's.",
        ),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set", help="PATH=VALUE override of the pipeline, e.g. analysis.window=30s."
        ),
    ] = None,
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="text or json (default: json unless a terminal)."),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    wait: Annotated[
        bool,
        typer.Option(
            "--wait", help="At a pause, wait for `canaryctl resume` instead of exiting 4."
        ),
    ] = False,
    state: Annotated[
        str | None,
        typer.Option(
            "--state",
            "--state-dir",
            help="Where records and the lock live: s3://BUCKET/PREFIX or a directory "
            "[env CANARYCTL_STATE; default: the pipeline's state:, else $CANARYCTL_STATE_DIR "
            "or .canaryctl].",
        ),
    ] = None,
) -> None:
    """Release VERSION as a canary, judge it against the policy's SLOs, promote or roll back.

    Exit codes: 0 promoted (or unchanged: VERSION is already the stable version), 2 invalid
    input, 3 rolled back, 4 paused or inconclusive, 5 another deployment of the service holds
    the lock, 1 anything else.
    """
    import os
    import sys
    import time

    from canaryctl.cli import runtime as rt
    from canaryctl.cli.releases import check_release, release_from_flags
    from canaryctl.config import load_pipeline
    from canaryctl.errors import LockHeld
    from canaryctl.rollout.record import new_record

    mode = rt.output_mode(output)
    variables = rt.parse_env(env)
    rt.validate_version(version)
    release = release_from_flags(image, task_definition)  # before Terraform or AWS
    loaded = load_pipeline(pipeline, set_ or ())
    check_release(release, loaded.pipeline.platform)
    for warning in loaded.warnings:
        sys.stderr.write(f"warning: {warning}\n")
    store = rt.store_for(state, loaded.pipeline)
    held = _converge_target(store, loaded, version, release)
    if held is not None:
        sys.stderr.write(f"continuing deployment {held['id']} (same version and pipeline)\n")
        if (
            held.get("config", {}).get("pipeline") != loaded.snapshot()["pipeline"]
            or held.get("config", {}).get("policy") != loaded.snapshot()["policy"]
        ):
            sys.stderr.write(
                "note: the pipeline or policy changed since it started; it continues as "
                f"started (`canaryctl abort {held['id']}` to start over)\n"
            )
        raise SystemExit(
            rt.emit(rt.run_engine(store, held, mode=mode, resume=True, wait=wait), mode)
        )
    if mode == "text" and sys.stdin.isatty() and not yes:
        steps = ", ".join(s.describe() for s in loaded.plan.steps)
        typer.confirm(f"Deploy {loaded.pipeline.service} {version} ({steps})?", abort=True)
    record = new_record(
        plan=loaded.plan,
        canary_version=version,
        env=variables,
        config=loaded.snapshot(),
        cwd=os.getcwd(),
        now=time.time(),
        release=release,
    )
    record["state"] = str(store.root)  # where `status`/`resume` find it (the job summary says)
    try:
        store.acquire(loaded.pipeline.service, record["id"])
    except LockHeld as exc:
        raise rt.describe_lock(store, exc) from None
    store.save(record)  # never a lock without a record: resume and abort need it
    record = rt.run_engine(store, record, mode=mode, wait=wait)
    raise SystemExit(rt.emit(record, mode))
