"""``canaryctl env plan|up|down|outputs ENV``: Terraform environments under terraform/environments.

Thin: parses flags, calls ``canaryctl.infra.environments``, renders text or JSON. Terraform's
own diagnostics go to stderr when a command fails; the one-line error and exit code come from
``canaryctl.cli.main``.
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
    from canaryctl.infra.environments import OperationResult

__all__ = ["env_app"]

env_app = typer.Typer(
    name="env",
    help=(
        "Terraform environments (terraform/environments/ENV): plan, up, down, outputs. "
        "Uses CANARYCTL_TERRAFORM, else a terraform on PATH, else the embedded Terraform."
    ),
    no_args_is_help=True,
)
app.add_typer(env_app, name="env")


class OutputFormat(StrEnum):
    text = "text"
    json = "json"


EnvArg = Annotated[str, typer.Argument(help="Environment: a directory under --environments.")]
OutputOpt = Annotated[OutputFormat, typer.Option("--output", "-o", help="text or json.")]
VarOpt = Annotated[
    list[str] | None,
    typer.Option("--var", help="Set a Terraform variable, NAME=VALUE (repeatable)."),
]
RootOpt = Annotated[
    Path,
    typer.Option(
        "--environments",
        envvar="CANARYCTL_ENVIRONMENTS",
        help="Directory holding one directory per environment.",
    ),
]
_DEFAULT_ROOT = Path("terraform/environments")


def _run(action: str, env: str, root: Path, pairs: list[str] | None) -> OperationResult:
    from canaryctl.infra.environments import TerraformFailed, find_environment, parse_vars

    variables = parse_vars(pairs or [])
    environment = find_environment(env, root)
    try:
        if action == "plan":
            return environment.plan(variables)
        if action == "up":
            return environment.up(variables)
        if action == "down":
            return environment.down(variables)
        return environment.outputs()
    except TerraformFailed as exc:
        # Terraform's own diagnostics first; the one-line error follows from cli.main.
        sys.stderr.write(exc.detail + "\n")
        raise


def _render(result: OperationResult, output: OutputFormat) -> None:
    if output is OutputFormat.json:
        doc: dict[str, Any] = {
            "environment": result.environment,
            "action": result.action,
            "terraform": result.terraform,
        }
        if result.changes is not None:
            doc["changes"] = result.changes
        if result.log:
            doc["log"] = result.log
        if result.action in {"up", "outputs"}:
            doc["outputs"] = result.outputs
        sys.stdout.write(json.dumps(doc, indent=2, sort_keys=True) + "\n")
        return
    if result.log.strip():  # Terraform's own account, outputs included after an apply
        sys.stdout.write(result.log.rstrip() + "\n")
    if result.action == "outputs":
        _render_outputs_text(result)


def _render_outputs_text(result: OperationResult) -> None:
    if not result.outputs:
        sys.stdout.write(
            f"environment {result.environment} has no outputs "
            f"(run `canaryctl env up {result.environment}`)\n"
        )
        return
    width = max(len(k) for k in result.outputs)
    for key in sorted(result.outputs):
        value = result.outputs[key]
        shown = "(sensitive)" if key in result.sensitive else _text(value)
        sys.stdout.write(f"{key.ljust(width)}  {shown}\n")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@env_app.command("plan")
def plan(
    env: EnvArg,
    output: OutputOpt = OutputFormat.text,
    var: VarOpt = None,
    environments: RootOpt = _DEFAULT_ROOT,
) -> None:
    """Show what `up` would change (terraform plan)."""
    _render(_run("plan", env, environments, var), output)


@env_app.command("up")
def up(
    env: EnvArg,
    output: OutputOpt = OutputFormat.text,
    var: VarOpt = None,
    environments: RootOpt = _DEFAULT_ROOT,
) -> None:
    """Create or update the environment (terraform apply), then print its outputs."""
    _render(_run("up", env, environments, var), output)


@env_app.command("down")
def down(
    env: EnvArg,
    output: OutputOpt = OutputFormat.text,
    var: VarOpt = None,
    environments: RootOpt = _DEFAULT_ROOT,
) -> None:
    """Destroy the environment (terraform apply -destroy)."""
    _render(_run("down", env, environments, var), output)


@env_app.command("outputs")
def outputs(
    env: EnvArg,
    output: OutputOpt = OutputFormat.text,
    environments: RootOpt = _DEFAULT_ROOT,
) -> None:
    """Print the environment's outputs (what a pipeline can refer to)."""
    _render(_run("outputs", env, environments, None), output)
