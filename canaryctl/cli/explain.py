"""``canaryctl explain ID``: why a deployment was promoted or rolled back."""

# No `from __future__ import annotations` here: Typer builds every command's parameters for
# any --help, and string annotations cost it an eval each (about 10% of `canaryctl --help`).

from typing import Annotated

import typer

from canaryctl.cli.main import app

__all__ = ["explain"]


@app.command(rich_help_panel="Deployments")
def explain(
    deployment_id: Annotated[str, typer.Argument(help="Deployment id (see `canaryctl history`).")],
    state_dir: Annotated[
        str | None,
        typer.Option(
            "--state",
            "--state-dir",
            help="Where records live: s3://BUCKET/PREFIX or a directory "
            "[env CANARYCTL_STATE; default $CANARYCTL_STATE_DIR or .canaryctl].",
        ),
    ] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="text or json.")] = None,
) -> None:
    """Why the deployment was promoted, rolled back or paused, in words and numbers: the
    deciding verdicts (measured value, threshold, sample sizes, e-value or p-value, confidence
    bounds) and, when inconclusive, the traffic still needed. JSON carries the same fields."""
    import json
    import sys

    from canaryctl.analysis.explain_record import deployment_facts
    from canaryctl.cli import runtime as rt
    from canaryctl.rollout.record import jsonable, status_of

    mode = rt.output_mode(output)
    record = rt.store_for(state_dir).load(deployment_id)
    facts = deployment_facts(record, status_of(record))
    if mode == "json":
        sys.stdout.write(json.dumps(jsonable(facts), indent=2) + "\n")
        return
    sys.stdout.write("\n".join(facts["explanation"]) + "\n")
