"""``canaryctl policy …``: tools for SLO policy authors (``validate`` here)."""

# No `from __future__ import annotations` here: Typer builds every command's parameters for
# any --help, and string annotations cost it an eval each (about 10% of `canaryctl --help`).

from typing import Annotated

import typer

from canaryctl.cli.main import app

__all__ = ["policy_app", "validate"]

policy_app = typer.Typer(
    help="Check SLO policies (and the pipelines that use them).", no_args_is_help=True
)
app.add_typer(policy_app, name="policy", rich_help_panel="Policies")


@policy_app.command()
def validate(
    files: Annotated[list[str], typer.Argument(help="Policy or pipeline files (YAML).")],
    output: Annotated[str | None, typer.Option("--output", "-o", help="text or json.")] = None,
) -> None:
    """Check each file's schema and meaning; one line per problem as file:line: field: problem.

    A pipeline is checked with its policy. Exit 0 when all are valid, 2 otherwise."""
    import json
    import sys

    from canaryctl.cli import runtime as rt
    from canaryctl.config import LoadedPolicy, load_any
    from canaryctl.errors import EXIT_INVALID, ConfigError

    mode = rt.output_mode(output)
    results = []
    for name in files:
        try:
            loaded = load_any(name)
        except ConfigError as exc:
            results.append({"file": name, "valid": False, "error": str(exc)})
            continue
        if isinstance(loaded, LoadedPolicy):
            what = f"policy with {len(loaded.rules)} SLOs"
        else:
            steps = ", ".join(s.describe() for s in loaded.plan.steps)
            what = f"pipeline for {loaded.pipeline.service}: {steps}; {len(loaded.plan.rules)} SLOs"
        results.append({"file": name, "valid": True, "summary": what})
    if mode == "json":
        sys.stdout.write(json.dumps(results, indent=2) + "\n")
    else:
        for r in results:
            if r["valid"]:
                sys.stdout.write(f"ok: {r['file']}: {r['summary']}\n")
    for r in results:
        if not r["valid"]:
            sys.stderr.write(f"error: {r['error']}\n")
    if not all(r["valid"] for r in results):
        raise SystemExit(EXIT_INVALID)
