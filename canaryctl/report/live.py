"""Terminal output: the live view while a deployment runs, and the final text report.

``render(record, now)`` draws the current step, the weights, the time left in the analysis
window (a progress bar) and a table per SLO of stable vs canary, bound and verdict. The
engine calls the reporter after every save and every poll (about once a second), so the view
refreshes at least every interval. When stdout is not a terminal, ``EventPrinter`` prints the
record's events as lines instead.
"""

from __future__ import annotations

import time
from types import TracebackType
from typing import Any

from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text

from canaryctl.analysis.explain_record import deployment_facts
from canaryctl.config.units import format_duration
from canaryctl.report.summary import fmt_value, latest_verdicts, rule_info
from canaryctl.rollout.record import status_of

__all__ = ["EventPrinter", "LiveReporter", "final_report", "render"]

_STYLE = {"pass": "green", "fail": "bold red", "inconclusive": "yellow", "error": "magenta"}
_STATUS_STYLE = {
    "promoted": "bold green",
    "unchanged": "bold green",
    "rolled_back": "bold red",
    "paused": "bold yellow",
    "failed": "bold red",
    "running": "bold cyan",
}


def _slo_table(record: dict[str, Any]) -> Table:
    table = Table(expand=False, box=None, pad_edge=False, header_style="bold")
    table.add_column("SLO", no_wrap=True)
    for col in ("stable", "canary", "bound"):
        table.add_column(col, justify="right", no_wrap=True)
    table.add_column("verdict", no_wrap=True)
    table.add_column("fails", justify="right", no_wrap=True)
    table.add_column("requests", justify="right", no_wrap=True)
    rules = rule_info(record)
    step = record.get("step_index")
    latest = latest_verdicts(record, step) or latest_verdicts(record)
    counters = record.get("counters", {})
    for name, info in rules.items():
        v, kind = latest.get(name), info.get("kind")
        c = counters.get(name, {})
        outcome = v["outcome"] if v else "waiting"
        table.add_row(
            name,
            fmt_value(kind, v.get("baseline")) if v else "-",
            fmt_value(kind, v.get("measured")) if v else "-",
            fmt_value(kind, v.get("threshold")) if v else "-",
            Text(outcome, style=_STYLE.get(outcome, "dim")),
            f"{c.get('failures', 0)}/{info.get('failure_limit', '?')}",
            f"{v.get('canary_requests', 0)}/{v.get('stable_requests', 0)}" if v else "-",
        )
    return table


def _progress(record: dict[str, Any], now: float) -> RenderableType | None:
    window = record.get("analysis")
    if not window or record.get("phase") != "analyzing":
        return None
    total = max(window["end"] - window["start"], 1e-9)
    done = min(max(now - window["start"], 0.0), total)
    left = int(total - done)
    bar = ProgressBar(total=total, completed=done, width=40)
    every = format_duration(window.get("interval"))
    label = Text(f"  {left // 60}:{left % 60:02d} left of {int(total)}s, check every {every}")
    return Group(bar, label)


def render(record: dict[str, Any], now: float | None = None) -> RenderableType:
    """The live view of one deployment record."""
    now = time.time() if now is None else now
    status = status_of(record)
    weights = record.get("weights") or {"stable": 100, "canary": 0}
    steps = record.get("steps", [])
    index = record.get("step_index", -1)
    step = steps[index]["description"] if 0 <= index < len(steps) else "-"
    head = Text.assemble(
        (f"{record['phase']}", _STATUS_STYLE.get(status, "bold")),
        f"   step {max(index, 0) + 1}/{len(steps)}: {step}   ",
        ("stable ", "dim"),
        f"{weights['stable']}%",
        ("  canary ", "dim"),
        f"{weights['canary']}%",
    )
    parts: list[RenderableType] = [head]
    bar = _progress(record, now)
    if bar is not None:
        parts.append(bar)
    parts.append(_slo_table(record))
    if record.get("events"):
        parts.append(Text(record["events"][-1]["message"], style="dim"))
    title = (
        f"canaryctl · {record['service']} {record.get('stable_version') or '?'} → "
        f"{record['canary_version']} · {record['id']}"
    )
    return Panel(Group(*parts), title=title, title_align="left")


class LiveReporter:
    """A rich Live view, updated by the engine's observer calls."""

    def __init__(self, console: Console | None = None) -> None:
        from rich.live import Live

        self.console = console or Console()
        self._live = Live(console=self.console, refresh_per_second=2, transient=False)
        self._started = False

    def __call__(self, record: dict[str, Any]) -> None:
        if not self._started:
            self._live.start()
            self._started = True
        self._live.update(render(record), refresh=True)

    def __enter__(self) -> LiveReporter:
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._started:
            self._live.stop()


class EventPrinter:
    """Prints new record events as ``HH:MM:SS phase: message`` lines (not a terminal)."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(highlight=False, soft_wrap=True)
        self._seen = 0

    def __call__(self, record: dict[str, Any]) -> None:
        for event in record.get("events", []):
            if event.get("n", 0) > self._seen:
                stamp = time.strftime("%H:%M:%S", time.localtime(event["t"]))
                self.console.print(f"{stamp} {event['message']}", markup=False)
                self._seen = event.get("n", 0)

    def __enter__(self) -> EventPrinter:
        return self

    def __exit__(self, *exc: object) -> None:
        return None


def final_report(record: dict[str, Any]) -> RenderableType:
    """The text report printed when a deployment stops: the explanation (the same lines as
    ``canaryctl explain ID``) and the SLO table."""
    status = status_of(record)
    lines = deployment_facts(record, status)["explanation"]
    head = Text(lines[0], style=_STATUS_STYLE.get(status, "bold"))
    body = Text("\n".join(lines[1:]))
    return Group(head, body, _slo_table(record))
