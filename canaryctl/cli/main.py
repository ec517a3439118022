"""The canaryctl command line: one Typer app, one sub-module per command group.

Errors are mapped to exit codes and a one-line message here, and only here. Heavy imports
(boto3, the Prometheus client, the engine) happen inside commands so ``--help`` stays fast.
Click's usage errors (a missing or malformed flag) are printed as one line too, not as a
usage box: CI logs and people both read the first line.
"""

from __future__ import annotations

import os
import sys
from typing import Any, NoReturn

import typer

from canaryctl.errors import EXIT_INVALID, EXIT_UNEXPECTED, CanaryError

__all__ = ["app", "fail", "main"]

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
    rich_markup_mode=None,
)


def _register() -> None:
    # Each module adds its commands to ``app`` (or a sub-Typer) at import time. They import
    # only typer/stdlib at module level; the engine is imported inside the command bodies.
    from canaryctl.cli import commands  # noqa: F401


def _say(message: str) -> None:
    from rich.console import Console
    from rich.markup import escape

    err = Console(stderr=True, highlight=False, soft_wrap=True)
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True)


def fail(exc: BaseException) -> NoReturn:
    """Print one line for a known error and exit with its code."""
    if os.environ.get("CANARYCTL_DEBUG"):
        import traceback

        traceback.print_exception(exc)
    if isinstance(exc, CanaryError):
        _say(" ".join(str(exc).split("\n")))
        raise SystemExit(exc.exit_code)
    _say(f"unexpected {type(exc).__name__}: {exc}".replace("\n", " "))
    raise SystemExit(EXIT_UNEXPECTED)


def _click() -> Any:
    # Typer ships its own copy of click (typer._click); older Typers use click itself.
    import importlib

    try:
        return importlib.import_module("typer._click")
    except ImportError:  # pragma: no cover - depends on the Typer version
        return importlib.import_module("click")


def _usage_error(exc: Any) -> NoReturn:
    click = _click()
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):
        exc.show()  # the group's help: what a bare `canaryctl` or `canaryctl policy` means
        raise SystemExit(EXIT_INVALID)
    message = " ".join(exc.format_message().split())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.exceptions.UsageError) and ctx is not None:
        message += f" (see '{ctx.command_path} --help')"
    _say(message)
    raise SystemExit(exc.exit_code)


def main(argv: list[str] | None = None) -> None:
    click = _click()
    _register()
    try:
        code = app(args=argv, standalone_mode=False)
    except SystemExit:
        raise
    except KeyboardInterrupt:
        sys.stderr.write("interrupted\n")
        raise SystemExit(130) from None
    except typer.Abort:
        sys.stderr.write("aborted\n")
        raise SystemExit(EXIT_UNEXPECTED) from None
    except click.exceptions.ClickException as exc:
        _usage_error(exc)
    except Exception as exc:  # the one place errors become exit codes
        fail(exc)
    raise SystemExit(code if isinstance(code, int) else 0)
