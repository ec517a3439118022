"""Why a deployment was promoted, rolled back or paused: the deciding verdicts of its record,
in words and numbers (``canaryctl explain ID``; the JSON output carries the same fields).

The record is the engine's JSON dict (``canaryctl.rollout.record``); this module only reads
it, so it knows nothing of the engine itself. The deciding verdicts are those of the last
check of the last analysis step (a whole-window verdict replaces the interval one taken at the
same moment): for a rollback, the failed checks of the failing SLO (they are what counted
toward its ``failureLimit``); for missing data, the checks without data; for a promotion,
every SLO's last verdict; for a pause or a running deployment, the SLOs not (yet) passing.
"""

from __future__ import annotations

import time
from typing import Any

from canaryctl.analysis.explain import (
    describe_verdict,
    estimate_seconds,
    evidence_text,
    verdict_facts,
)
from canaryctl.config.units import format_duration

__all__ = ["by_person", "deployment_facts"]

_HEADLINE = {
    "promoted": "was PROMOTED",
    "unchanged": "changed NOTHING (already the stable version)",
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

Record = dict[str, Any]


def _rules(record: Record) -> dict[str, dict[str, Any]]:
    return {r["slo"]["name"]: r for r in (record.get("plan") or {}).get("rules", [])}


def _last_check(verdicts: list[dict[str, Any]]) -> tuple[dict[str, dict[str, Any]], int | None]:
    """SLO → verdict at the last check of the last step with verdicts (final wins)."""
    if not verdicts:
        return {}, None
    step = verdicts[-1].get("step")
    mine = [v for v in verdicts if v.get("step") == step]
    last_t = max(float(v.get("t") or 0.0) for v in mine)
    at: dict[str, dict[str, Any]] = {}
    for v in mine:
        if float(v.get("t") or 0.0) == last_t:
            at[v["slo"]] = v  # the final check is written after the interval one
    return at, step


def by_person(record: Record) -> bool:
    """Whether a person, not the verdicts, ended or paused the deployment."""
    reason = str(record.get("reason") or "")
    cause = (record.get("outcome") or {}).get("cause") or (record.get("paused") or {}).get("cause")
    return cause in ("aborted", "request") or reason.startswith(
        ("promoted by", "paused by", "aborted by")
    )


def _deciding(
    record: Record, status: str, rules: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    verdicts = record.get("verdicts") or []
    at, step = _last_check(verdicts)
    cause = (record.get("outcome") or {}).get("cause")
    if (record.get("paused") or {}).get("cause") == "slo":
        cause = "slo"  # onFailure: pause
    if cause == "slo":
        failing = {slo for slo, v in at.items() if v["outcome"] == "fail"}
        if failing:
            return [
                v
                for v in verdicts
                if v.get("step") == step and v["slo"] in failing and v["outcome"] == "fail"
            ]
    if cause == "missing_data":
        return [v for v in at.values() if v["outcome"] == "error"]
    # an SLO with required: false never holds a promotion up, so it never decides one
    required = [v for v in at.values() if rules.get(v["slo"], {}).get("required", True)]
    if status == "promoted":
        return required or list(at.values())
    unsettled = [v for v in required if v["outcome"] != "pass"]
    return unsettled or list(at.values())


def _offset(record: Record, v: dict[str, Any]) -> float | None:
    steps = record.get("steps") or []
    step = v.get("step")
    if isinstance(step, int) and 0 <= step < len(steps) and steps[step].get("start"):
        return float(v.get("t") or 0.0) - float(steps[step]["start"])
    return None


def _fact(record: Record, v: dict[str, Any], rules: dict[str, dict[str, Any]]) -> dict[str, Any]:
    rule = rules.get(v["slo"])
    counters = (record.get("counters") or {}).get(v["slo"], {})
    return {
        **verdict_facts(v, rule),
        "t_offset_s": _offset(record, v),
        "step": v.get("step"),
        "text": describe_verdict(v, rule),
        "evidence_text": evidence_text(verdict_facts(v, rule)),
        "failures": counters.get("failures", 0),
        "checks": counters.get("checks", 0),
        "failure_limit": rule.get("failure_limit") if rule else None,
    }


def _estimate(deciding: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The largest traffic still needed among inconclusive deciding verdicts."""
    unsure = [f for f in deciding if f["outcome"] == "inconclusive" and f["needed_requests"]]
    if not unsure:
        return None
    worst = max(unsure, key=lambda f: f["needed_requests"])
    return {
        "slo": worst["slo"],
        "needed_requests": worst["needed_requests"],
        "needed_seconds": worst["needed_seconds"],
    }


def _clock(t: float | None) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if t else "-"


def _decided_line(record: Record, deciding: list[dict[str, Any]], status: str) -> str | None:
    if not deciding:
        return None
    last = deciding[-1]
    steps = record.get("steps") or []
    step = last.get("step")
    where = ""
    if isinstance(step, int) and 0 <= step < len(steps):
        s = steps[step]
        weight = f" with {s['weight']}% of traffic on the canary" if s.get("weight") else ""
        after = last.get("t_offset_s")
        into = f"{format_duration(after)} into " if after is not None else ""
        where = f" {into}step {step + 1} ({s['description']}){weight}"
    if status in ("promoted", "rolled_back", "paused") and not by_person(record):
        return f"Decided{where}, by:"
    return f"The last check{where}:"


def _text(record: Record, status: str, facts: dict[str, Any]) -> list[str]:
    start, end = record.get("created_at"), record.get("finished_at") or record.get("updated_at")
    took = f" after {format_duration(end - start)}" if start and end else ""
    lines = [
        f"Deployment {record['id']}: {record['service']} {record.get('stable_version') or '?'} "
        f"→ {record['canary_version']} {_HEADLINE.get(status, status)}{took}."
    ]
    if record.get("task_definition_arn"):
        lines.append(f"Task definition: {record['task_definition_arn']}.")
    cause = facts["cause"]
    if record.get("reason"):
        because = f" ({_CAUSE[cause]})" if cause in _CAUSE else ""
        lines.append(f"Why: {record['reason']}{because}.")
    head = _decided_line(record, facts["deciding"], status)
    if head:
        lines.append(head)
    failed = 0
    for f in facts["deciding"]:
        at = f" at +{format_duration(f['t_offset_s'])}" if f["t_offset_s"] is not None else ""
        limit = ""
        if f["outcome"] == "fail" and f["failure_limit"]:
            failed += 1
            limit = f"; failed check {failed} (the policy acts at {f['failure_limit']})"
        lines.append(f"  {f['slo']} {f['outcome']}{at}: {f['text']}{limit}")
        lines.append(f"      evidence: {f['evidence_text']}")
    est = facts["estimate"]
    if est:
        secs = est["needed_seconds"]
        rate = (
            f" (about {format_duration(estimate_seconds(secs))} at the current rate)"
            if secs
            else ""
        )
        lines.append(
            f"To conclude, {est['slo']} needs about {est['needed_requests']:,} more canary "
            f"requests{rate}."
        )
    lines.append("Steps:")
    for s in record.get("steps") or []:
        if s.get("start") is None:
            lines.append(f"  {s['index'] + 1}. {s['description']}: not reached")
        else:
            span = f"{_clock(s['start'])}–{_clock(s.get('end'))}"
            lines.append(f"  {s['index'] + 1}. {s['description']} ({span})")
    if facts["slos"]:
        lines.append("SLOs (last verdict; failed checks / limit):")
        for s in facts["slos"]:
            # a record whose plan lacks the rule (an older canaryctl's) has no limit to show
            limit = "?" if s["failure_limit"] is None else s["failure_limit"]
            lines.append(
                f"  {s['slo']}: {s['outcome']} — {s['text']}; {s['failures']}/"
                f"{limit} failed of {s['checks']} checks"
            )
    for req in record.get("requests") or []:
        lines.append(
            f"Request: {req.get('action')} by {req.get('by') or '?'} at "
            f"{_clock(req.get('at'))}: {req.get('result')}"
        )
    return lines


def deployment_facts(record: Record, status: str) -> dict[str, Any]:
    """Everything ``canaryctl explain`` says, as JSON fields plus ``explanation`` (the text
    lines). ``status``: promoted | rolled_back | paused | failed | running."""
    rules = _rules(record)
    cause = (record.get("outcome") or {}).get("cause") or (record.get("paused") or {}).get("cause")
    deciding = [_fact(record, v, rules) for v in _deciding(record, status, rules)]
    latest: dict[str, dict[str, Any]] = {}
    for v in record.get("verdicts") or []:
        latest[v["slo"]] = v
    facts: dict[str, Any] = {
        "deployment_id": record["id"],
        "service": record["service"],
        "stable_version": record.get("stable_version"),
        "canary_version": record.get("canary_version"),
        "task_definition_arn": record.get("task_definition_arn"),
        "status": status,
        "phase": record.get("phase"),
        "reason": record.get("reason", ""),
        "cause": cause,
        "deciding": deciding,
        # traffic still needed matters only while a person can still let the canary run
        "estimate": _estimate(deciding) if status in ("paused", "running") else None,
        "slos": [_fact(record, v, rules) for v in latest.values()],
        "verdicts": [
            {**verdict_facts(v, rules.get(v["slo"])), "t": v.get("t")}
            for v in record.get("verdicts") or []
        ],
    }
    facts["explanation"] = _text(record, status, facts)
    return facts
