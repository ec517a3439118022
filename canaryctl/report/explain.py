"""Why a deployment ended as it did, in words and numbers (``canaryctl explain ID``)."""

from __future__ import annotations

import time
from typing import Any

from canaryctl.config.units import format_duration
from canaryctl.report.summary import fmt_value, latest_verdicts, rule_info
from canaryctl.rollout.record import status_of

__all__ = ["describe_verdict", "explain"]

_HEADLINE = {
    "promoted": "was PROMOTED",
    "rolled_back": "was ROLLED BACK",
    "paused": "is PAUSED (a person must act)",
    "failed": "FAILED",
    "running": "is still running",
}
_CAUSE = {
    "slo": "the canary failed its SLOs",
    "missing_data": "the metrics had no data (the policy's missing-data rule)",
    "aborted": "a person aborted it",
    "unhealthy": "the canary did not become healthy",
    "platform": "the platform failed",
    "hook": "a duringAnalysis hook failed",
}


def _clock(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else "-"


def describe_verdict(v: dict[str, Any], kind: str | None) -> str:
    """``canary 5.2% over 96 requests > bound 1% (stable 0.1% over 870)``."""
    outcome = v["outcome"]
    n = v.get("canary_requests", 0)
    canary = f"canary {fmt_value(kind, v.get('measured'))} over {n} requests"
    stable = (
        f" (stable {fmt_value(kind, v.get('baseline'))} over {v.get('stable_requests', 0)})"
        if v.get("baseline") is not None
        else ""
    )
    if outcome in ("pass", "fail"):
        op = "<=" if outcome == "pass" else ">"
        return f"{canary} {op} bound {fmt_value(kind, v.get('threshold'))}{stable}"
    if outcome == "inconclusive":
        need = v.get("needed_requests")
        more = f"; needs about {need} more canary requests" if need else ""
        return f"inconclusive: {v.get('message', '')}{more}"
    return f"no data: {v.get('message', '')}"


def _steps(record: dict[str, Any]) -> list[str]:
    lines = []
    for s in record.get("steps", []):
        if s.get("start") is None:
            lines.append(f"  {s['index'] + 1}. {s['description']}: not reached")
            continue
        span = f"{_clock(s['start'])}–{_clock(s.get('end'))}"
        lines.append(f"  {s['index'] + 1}. {s['description']} ({span})")
    return lines


def explain(record: dict[str, Any]) -> list[str]:
    """Plain-text lines: the outcome, why, the decisive numbers, the steps, every SLO."""
    status = status_of(record)
    rules = rule_info(record)
    start, end = record.get("created_at"), record.get("finished_at") or record.get("updated_at")
    took = f" after {format_duration(end - start)}" if start and end else ""
    lines = [
        f"Deployment {record['id']}: {record['service']} {record.get('stable_version') or '?'} → "
        f"{record['canary_version']} {_HEADLINE[status]}{took}."
    ]
    cause = (record.get("outcome") or {}).get("cause")
    if record.get("reason"):
        because = f" ({_CAUSE[cause]})" if cause in _CAUSE else ""
        lines.append(f"Why: {record['reason']}{because}.")
    failing = [v for v in record.get("verdicts", []) if v["outcome"] == "fail"]
    if status == "rolled_back" and failing:
        last = failing[-1]
        info = rules.get(last["slo"], {})
        lines.append(
            f"Decisive check at {_clock(last.get('t'))}: {last['slo']} "
            f"({info.get('kind', '?')}, route class {last.get('route_class') or 'all'}): "
            f"{describe_verdict(last, info.get('kind'))}; {info.get('failure_limit', '?')} "
            "failed checks roll back."
        )
    lines.append("Steps:")
    lines.extend(_steps(record))
    latest = latest_verdicts(record)
    if latest:
        lines.append("SLOs (last verdict; failed checks / limit):")
        counters = record.get("counters", {})
        for name, v in latest.items():
            info = rules.get(name, {})
            c = counters.get(name, {})
            lines.append(
                f"  {name}: {v['outcome']} — {describe_verdict(v, info.get('kind'))}; "
                f"{c.get('failures', 0)}/{info.get('failure_limit', '?')} failed of "
                f"{c.get('checks', 0)} checks"
            )
    for req in record.get("requests", []):
        lines.append(
            f"Request: {req.get('action')} by {req.get('by') or '?'} at "
            f"{_clock(req.get('at'))}: {req.get('result')}"
        )
    return lines
