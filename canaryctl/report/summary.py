"""The one JSON object a deployment ends with (``--output json``), and value formatting
shared by the live view and the Markdown renderer."""

from __future__ import annotations

import time
from typing import Any

from canaryctl.config.units import format_duration, format_percent
from canaryctl.rollout.record import exit_code, status_of

__all__ = [
    "fmt_value",
    "iso",
    "latest_verdicts",
    "rule_info",
    "summary",
]


def iso(t: float | None) -> str | None:
    """Epoch seconds → ``2026-11-22T11:10:00Z`` (UTC)."""
    if t is None:
        return None
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t % 1 * 1000):03d}Z"


def rule_info(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """SLO name → its rule (kind, comparison, quantile, limits) from the stored plan."""
    out = {}
    for rule in record.get("plan", {}).get("rules", []):
        slo = rule["slo"]
        out[slo["name"]] = {**slo, **{k: v for k, v in rule.items() if k != "slo"}}
    return out


def fmt_value(kind: str | None, value: Any) -> str:
    """Latency in ms, error rate in percent."""
    if value is None or isinstance(value, str):
        return "-" if value is None else value
    return format_percent(value) if kind == "error_rate" else format_duration(value)


def latest_verdicts(record: dict[str, Any], step: int | None = None) -> dict[str, dict[str, Any]]:
    """The last verdict of each SLO (of ``step`` when given): final checks win over interval
    checks at the same time."""
    out: dict[str, dict[str, Any]] = {}
    for verdict in record.get("verdicts", []):
        if step is None or verdict.get("step") == step:
            out[verdict["slo"]] = verdict
    return out


def _verdict(v: dict[str, Any]) -> dict[str, Any]:
    return {
        "slo": v["slo"],
        "route_class": v.get("route_class") or "all",
        "target": v.get("target", "canary"),
        "measured": v.get("measured"),
        "threshold": v.get("threshold"),
        "baseline": v.get("baseline"),
        "outcome": v["outcome"],
        "canary_requests": v.get("canary_requests", 0),
        "stable_requests": v.get("stable_requests", 0),
        "needed_requests": v.get("needed_requests"),
        "message": v.get("message", ""),
        "check": v.get("check"),
        "judge": v.get("judge"),
        "step": v.get("step"),
        "t": iso(v.get("t")),
        "window": [iso(t) for t in v.get("window") or []],
        "evidence": v.get("evidence", {}),
    }


def summary(record: dict[str, Any], now: float | None = None) -> dict[str, Any]:
    """The deployment as one JSON-ready object (status, versions, steps, verdicts, timing)."""
    end = record.get("finished_at") or now or record.get("updated_at")
    start = record.get("created_at")
    counters = record.get("counters", {})
    rules = rule_info(record)
    status = status_of(record)
    return {
        "status": status,
        "deployment_id": record["id"],
        "service": record["service"],
        "stable_version": record.get("stable_version"),
        "canary_version": record.get("canary_version"),
        # ECS: the task definition the canary's task set runs (registered by canaryctl)
        "task_definition_arn": record.get("task_definition_arn"),
        "image": (record.get("release") or {}).get("image"),
        "task_definition_file": (record.get("release") or {}).get("task_definition_file"),
        "phase": record["phase"],
        "reason": record.get("reason", ""),
        "cause": (record.get("outcome") or {}).get("cause"),
        "weights": record.get("weights"),
        "steps": [
            {
                k: (iso(s[k]) if k in ("start", "end") else s.get(k))
                for k in ("index", "kind", "description", "weight", "start", "end")
            }
            for s in record.get("steps", [])
        ],
        "slos": [
            {
                "slo": name,
                "kind": info.get("kind"),
                "route_class": info.get("route_class") or "all",
                "judge": info.get("judge"),
                **counters.get(name, {}),
            }
            for name, info in rules.items()
        ],
        "verdicts": [_verdict(v) for v in record.get("verdicts", [])],
        "requests": record.get("requests", []),
        # what each load hook reported when its analyze step ended (requests, failures, ...)
        "load": record.get("load", []),
        # stable and canary per analysis interval (report.timeline): requests, errors, p95
        "timeline": [
            {**p, "t": iso(p.get("t")), "from": iso(p.get("from"))}
            for p in record.get("timeline") or []
        ],
        "started_at": iso(start),
        "finished_at": iso(record.get("finished_at")),
        "duration_s": round(end - start, 3) if end and start else None,
        "exit_code": exit_code(record) if status != "running" else None,
    }
