"""The Markdown job summary (GitHub Actions' ``$GITHUB_STEP_SUMMARY``, or any file).

Sections: the outcome headline and why; the deployment (id, service, versions, outcome,
times); the steps (weight, start, end); one table per SLO (stable vs canary, bound, verdict,
sample sizes, for each analyze step); and Mermaid charts of canary vs stable p95 and error
rate over the analysis (``report.chart``). Times are UTC: a summary is read in every zone.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

from canaryctl.config.units import format_duration
from canaryctl.report.chart import charts
from canaryctl.report.summary import fmt_value, rule_info
from canaryctl.rollout.record import exit_code, status_of
from canaryctl.state.file import DEFAULT_STATE_DIR

__all__ = ["describe_rule", "job_summary", "write_job_summary"]

_ICON = {
    "promoted": "✅",
    "unchanged": "✅",
    "rolled_back": "❌",
    "paused": "⏸️",
    "failed": "💥",
    "running": "⏳",
}
_OUTCOME_ICON = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️", "error": "❔"}
_CAUSE = {
    "slo": "the canary failed its SLOs; traffic is back on the stable version",
    "missing_data": "the metrics had no data; traffic is back on the stable version",
    "aborted": "a person aborted it; traffic is back on the stable version",
    "unhealthy": "the canary did not become healthy",
    "platform": "the platform failed",
    "hook": "a duringAnalysis hook failed",
}


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _row(*cells: Any) -> str:
    return "| " + " | ".join(_cell(c) for c in cells) + " |"


def _clock(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.gmtime(t)) if t else "–"


def _headline(record: dict[str, Any]) -> list[str]:
    status = status_of(record)
    out = [
        f"## {_ICON.get(status, '')} canaryctl: {record['service']} "
        f"{record['canary_version']} {status.replace('_', ' ')}",
        "",
    ]
    cause = (record.get("outcome") or {}).get("cause")
    if record.get("reason"):
        out.append(f"> {record['reason']}" + (f" — {_CAUSE[cause]}." if cause in _CAUSE else ""))
        out.append("")
    return out


def _facts(record: dict[str, Any]) -> list[str]:
    status = status_of(record)
    start, end = record.get("created_at"), record.get("finished_at") or record.get("updated_at")
    day = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(start)) if start else "–"
    took = format_duration(end - start) if start and end else "–"
    outcome = status.replace("_", " ")
    if status != "running":
        outcome += f" (exit {exit_code(record)})"
    return [
        "| deployment | service | stable | canary | outcome | started | took |",
        "|---|---|---|---|---|---|---|",
        _row(
            f"`{record['id']}`",
            record["service"],
            record.get("stable_version") or "?",
            record["canary_version"],
            outcome,
            day,
            took,
        ),
        "",
        *_task_definition(record),
    ]


def _task_definition(record: dict[str, Any]) -> list[str]:
    arn = record.get("task_definition_arn")
    if not arn:
        return []
    source = (record.get("release") or {}).get("task_definition_file")
    return [f"Task definition: `{arn}`" + (f" (from `{source}`)" if source else ""), ""]


def _steps(record: dict[str, Any]) -> list[str]:
    out = ["### Steps", "", "| # | step | canary weight | start | end |", "|---|---|---|---|---|"]
    for s in record.get("steps", []):
        weight = f"{s['weight']}%" if s.get("weight") is not None else "–"
        if s.get("start") is None:
            out.append(_row(s["index"] + 1, s["description"], weight, "not reached", ""))
        else:
            out.append(
                _row(s["index"] + 1, s["description"], weight, _clock(s["start"]), _clock(s["end"]))
            )
    return [*out, ""]


def describe_rule(info: dict[str, Any]) -> str:
    """``p95 ≤ 250ms``, ``error rate ≤ 1%``, ``p95 ≤ 1.2× stable (at least 50ms)``."""
    kind = info.get("kind")
    name = "error rate" if kind == "error_rate" else f"p{float(info.get('quantile', 0.95)) * 100:g}"
    if info.get("comparison") != "relative":
        return f"{name} ≤ {fmt_value(kind, info.get('threshold'))}"
    margin = (info.get("params") or {}).get("margin")
    if margin is not None:
        bound = f"stable + {fmt_value(kind, float(margin))}"
    else:
        bound = f"{float(info.get('factor') or 1):g}× stable"
    floor = info.get("threshold")
    return f"{name} ≤ {bound}" + (f" (at least {fmt_value(kind, floor)})" if floor else "")


def _slo_rows(record: dict[str, Any], name: str, info: dict[str, Any]) -> list[str]:
    kind, steps = info.get("kind"), record.get("steps", [])
    by_step: dict[int, list[dict[str, Any]]] = {}
    for v in record.get("verdicts", []):
        if v["slo"] == name:
            by_step.setdefault(int(v.get("step", -1)), []).append(v)
    rows = []
    for index, verdicts in sorted(by_step.items()):
        final = [v for v in verdicts if v.get("check") == "final"]
        last = (final or verdicts)[-1]
        checks = [v for v in verdicts if v.get("check") != "final"]
        failed = sum(v["outcome"] == "fail" for v in checks)
        step = steps[index] if 0 <= index < len(steps) else {}
        weight = f"{step['weight']}%" if step.get("weight") is not None else "–"
        bound = fmt_value(kind, last.get("threshold"))
        outcome = "no data" if last["outcome"] == "error" else last["outcome"]
        rows.append(
            _row(
                f"{index + 1}. {step.get('description', '?')}",
                weight,
                fmt_value(kind, last.get("baseline")),
                fmt_value(kind, last.get("measured")),
                f"≤ {bound}" if bound != "-" else "–",
                f"{_OUTCOME_ICON.get(last['outcome'], '')} {outcome}",
                f"{last.get('stable_requests', 0)} / {last.get('canary_requests', 0)}",
                f"{failed} of {len(checks)} (limit {info.get('failure_limit', '?')})",
            )
        )
    return rows


def _slos(record: dict[str, Any]) -> list[str]:
    out = ["### SLOs", ""]
    for name, info in rule_info(record).items():
        last = [v for v in record.get("verdicts", []) if v["slo"] == name]
        icon = _OUTCOME_ICON.get(last[-1]["outcome"], "") if last else "–"
        route = info.get("route_class") or "all routes"
        out += [
            f"#### {icon} `{name}`: {describe_rule(info)} ({route}, {info.get('judge')} judge)",
            "",
        ]
        rows = _slo_rows(record, name, info)
        if not rows:
            out += ["Not checked: the deployment stopped before any analysis.", ""]
            continue
        out += [
            "| step | canary weight | stable | canary | bound | verdict "
            "| requests (stable / canary) | failed checks |",
            "|---|---|---|---|---|---|---|---|",
            *rows,
            "",
        ]
    return out


def _footer(record: dict[str, Any]) -> list[str]:
    # The variable works with every command (deploy, status, explain, resume, …).
    state = record.get("state")
    where = f"CANARYCTL_STATE={state} " if state and state != DEFAULT_STATE_DIR else ""
    return [f"Details: `{where}canaryctl explain {record['id']}`."]


def job_summary(record: dict[str, Any]) -> str:
    """The whole summary of one deployment record, as Markdown."""
    out = _headline(record) + _facts(record) + _steps(record) + _slos(record)
    out += ["### Canary vs stable", "", *charts(record)]
    out += _footer(record)
    return "\n".join(out) + "\n"


def write_job_summary(record: dict[str, Any], path: str | None = None) -> Path | None:
    """Append the summary to ``path`` or ``$GITHUB_STEP_SUMMARY``; None when neither is set."""
    target = path or os.environ.get("GITHUB_STEP_SUMMARY")
    if not target:
        return None
    with open(target, "a", encoding="utf-8") as f:
        f.write(job_summary(record))
    return Path(target)
