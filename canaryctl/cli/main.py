"""The canaryctl command line: one Typer app, one sub-module per command group.

Errors are mapped to exit codes and a one-line message here, and only here. Heavy imports
(boto3, the Prometheus client, the engine) happen inside commands so ``--help`` stays fast.
"""

from __future__ import annotations

import sys
from typing import NoReturn

import typer

from canaryctl.errors import EXIT_UNEXPECTED, CanaryError

__all__ = ["app", "main"]

app = typer.Typer(
    name="canaryctl",
    help=(
        "Release a new version as a canary, judge it against SLOs, and promote or roll back.\n\n"
        "Exit codes: 0 promoted, 1 unexpected error, 2 invalid input, 3 rolled back "
        "(SLOs failed), 4 paused or inconclusive, 5 another deployment holds the lock."
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
)


def _register() -> None:
    # Each module adds its commands to ``app`` (or a sub-Typer) at import time. They import
    # only typer/stdlib at module level; the engine is imported inside the command bodies.
    from canaryctl.cli import commands  # noqa: F401


def fail(exc: BaseException) -> NoReturn:
    """Print one line for a known error and exit with its code."""
    from rich.console import Console

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    if isinstance(exc, CanaryError):
        err.print(f"[bold red]error:[/] {exc}", markup=True)
        raise SystemExit(exc.exit_code)
    err.print(f"[bold red]unexpected error:[/] {type(exc).__name__}: {exc}", markup=True)
    raise SystemExit(EXIT_UNEXPECTED)


def main(argv: list[str] | None = None) -> None:
    _register()
    try:
        app(args=argv, standalone_mode=True)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    except Exception as exc:  # the one place errors become exit codes
        fail(exc)
