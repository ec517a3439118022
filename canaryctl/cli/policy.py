"""``canaryctl policy …``: tools for SLO policy authors — validate, explain, backtest, record.

The commands parse flags and print; the work is in ``canaryctl.analysis.backtest``,
``canaryctl.analysis.explain`` and ``canaryctl.metrics.record``."""

# No `from __future__ import annotations` here: Typer builds every command's parameters for
# any --help, and string annotations cost it an eval each (about 10% of `canaryctl --help`).

from typing import Annotated, Any

import typer

from canaryctl.cli.main import app

__all__ = ["backtest", "explain_policy", "policy_app", "record", "validate"]

policy_app = typer.Typer(
    help="Check, explain and backtest SLO policies; record traffic for backtests.",
    no_args_is_help=True,
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
    results: list[dict[str, Any]] = []
    for name in files:
        try:
            loaded = load_any(name)
        except ConfigError as exc:
            results.append({"file": name, "valid": False, "error": str(exc)})
            continue
        warnings: list[str] = []
        if isinstance(loaded, LoadedPolicy):
            what = f"policy with {len(loaded.rules)} SLOs"
        else:
            steps = ", ".join(s.describe() for s in loaded.plan.steps)
            what = f"pipeline for {loaded.pipeline.service}: {steps}; {len(loaded.plan.rules)} SLOs"
            warnings = list(loaded.warnings)
        results.append({"file": name, "valid": True, "summary": what, "warnings": warnings})
    if mode == "json":
        sys.stdout.write(json.dumps(results, indent=2) + "\n")
    else:
        for r in results:
            if r["valid"]:
                sys.stdout.write(f"ok: {r['file']}: {r['summary']}\n")
    for r in results:
        for warning in r.get("warnings", ()):
            sys.stderr.write(f"warning: {warning}\n")
        if not r["valid"]:
            sys.stderr.write(f"error: {r['error']}\n")
    if not all(r["valid"] for r in results):
        raise SystemExit(EXIT_INVALID)


def _duration_flag(flag: str, value: str | None, zero: bool = False) -> float | None:
    from canaryctl.config.units import parse_duration
    from canaryctl.errors import InvalidInput

    if value is None:
        return None
    try:
        seconds = parse_duration(value)
    except ValueError as exc:
        raise InvalidInput(f"{flag}: {exc}") from None
    if seconds <= 0 and not (zero and seconds == 0):
        raise InvalidInput(f"{flag}: must be above zero, got {value!r}")
    return seconds


@policy_app.command("explain")
def explain_policy(
    file: Annotated[str, typer.Argument(help="A policy (or a pipeline and its policy).")],
    output: Annotated[str | None, typer.Option("--output", "-o", help="text or json.")] = None,
) -> None:
    """The policy in plain words: per route class what is measured, the bound, the judge,
    minimum requests, timing, failure limit, missing-data rule and early promotion."""
    import json
    import sys

    from canaryctl.analysis.backtest import load_target
    from canaryctl.analysis.explain import explain_policy as words
    from canaryctl.analysis.explain import rule_json
    from canaryctl.cli import runtime as rt

    mode = rt.output_mode(output)
    t = load_target(file)
    lines = words(
        [r.to_dict() for r in t.rules],
        path=file,
        name=t.name,
        description=t.description,
        interval_s=t.interval_s,
        window_s=t.window_s,
    )
    if mode == "json":
        out = {
            "file": file,
            "name": t.name,
            "description": t.description,
            "interval_s": t.interval_s,
            "window_s": t.window_s,
            "slos": [rule_json(r.to_dict(), t.interval_s) for r in t.rules],
            "explanation": lines,
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
    else:
        sys.stdout.write("\n".join(lines) + "\n")


@policy_app.command()
def backtest(
    file: Annotated[str, typer.Argument(help="A policy (or a pipeline and its policy).")],
    metrics: Annotated[
        str, typer.Option("--metrics", help="A recording (JSON lines, docs/replay-format.md).")
    ],
    output: Annotated[str | None, typer.Option("--output", "-o", help="text or json.")] = None,
    interval: Annotated[
        str | None, typer.Option("--interval", help="Check interval (default: the policy's).")
    ] = None,
    window: Annotated[
        str | None, typer.Option("--window", help="Analysis window (default: the policy's).")
    ] = None,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Text: every verdict, not only changes.")
    ] = False,
) -> None:
    """Replay a recording through the judges the engine would use, as fast as the CPU allows;
    print the verdict timeline and the decision with its time. Exit 0 would promote, 3 would
    roll back, 4 inconclusive or paused, 2 bad input (a bad recording line as file:line)."""
    import json
    import sys

    from canaryctl.analysis.backtest import load_recording, load_target, render_text, run_backtest
    from canaryctl.cli import runtime as rt
    from canaryctl.errors import InvalidInput
    from canaryctl.rollout.record import jsonable

    mode = rt.output_mode(output)
    spec = load_target(file)
    every = _duration_flag("--interval", interval) or spec.interval_s
    span = _duration_flag("--window", window) or spec.window_s
    if span < every:
        raise InvalidInput(f"--window: {span:g}s is shorter than the check interval ({every:g}s)")
    intervals = load_recording(metrics)
    result = run_backtest(
        spec.rules, intervals, path=metrics, window_s=span, interval_s=every,
        on_failure=spec.on_failure,
    )  # fmt: skip
    if mode == "json":
        out = {"policy": file, **result.to_dict(spec.rules)}
        sys.stdout.write(json.dumps(jsonable(out), indent=2) + "\n")
    else:
        lines = render_text(result, spec.rules, file, verbose=verbose)
        sys.stdout.write("\n".join(lines) + "\n")
    if result.exit_code:
        raise SystemExit(result.exit_code)


@policy_app.command()
def record(
    duration: Annotated[str, typer.Option("--duration", help="How long to record, e.g. 5m.")],
    source: Annotated[
        str, typer.Option("--source", help="embedded (the sandbox router) or prometheus.")
    ] = "embedded",
    url: Annotated[str | None, typer.Option("--url", help="Prometheus URL.")] = None,
    sandbox: Annotated[
        str, typer.Option("--sandbox", help="Sandbox directory (embedded source).")
    ] = ".sandbox",
    interval: Annotated[str, typer.Option("--interval", help="One line per interval.")] = "1s",
    routes: Annotated[
        str,
        typer.Option("--routes", help="Route classes: all (each one), none, or a,b,c."),
    ] = "all",
    lag: Annotated[
        str | None,
        typer.Option(
            "--lag",
            help="Wait this long after an interval ends before reading it "
            "(default 0s embedded, 2s prometheus: scrapes arrive late).",
        ),
    ] = None,
) -> None:
    """Record live window statistics (per target, in total and per route class) in the replay
    format on stdout, one line per interval: `canaryctl policy record ... > RECORDING.jsonl`.
    Offset 0 is when the recording starts; start it when the canary receives traffic."""
    import sys

    from canaryctl.metrics.record import open_source, parse_routes, record_source

    every = _duration_flag("--interval", interval) or 1.0
    total = _duration_flag("--duration", duration) or 0.0
    wait = _duration_flag("--lag", lag, zero=True)
    chosen = parse_routes(routes)
    metric_source, default_lag = open_source(source, url=url, sandbox=sandbox)
    try:
        summary = record_source(
            metric_source,
            sys.stdout,
            duration_s=total,
            interval_s=every,
            routes=chosen,
            lag_s=default_lag if wait is None else wait,
            progress=sys.stderr,
        )
    finally:
        metric_source.close()
    sys.stderr.write(summary.describe() + "\n")
