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
        str | None, typer.Option("--state-dir", help="State directory [env CANARYCTL_STATE_DIR].")
    ] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="text or json.")] = None,
) -> None:
    """Why the deployment was promoted, rolled back or paused, in words and numbers."""
    import json
    import sys

    from canaryctl.cli import runtime as rt
    from canaryctl.report.explain import explain as explain_lines
    from canaryctl.report.summary import summary

    mode = rt.output_mode(output)
    record = rt.store_for(state_dir).load(deployment_id)
    lines = explain_lines(record)
    if mode == "json":
        data = summary(record)
        out = {
            k: data[k] for k in ("deployment_id", "status", "reason", "cause", "slos", "verdicts")
        }
        sys.stdout.write(json.dumps({**out, "explanation": lines}, indent=2) + "\n")
        return
    sys.stdout.write("\n".join(lines) + "\n")
