"""When an ECS answer can be believed: the checks the platform's waits apply to each read.

The ECS API is eventually consistent: "the result of an API command you run that affects your
Amazon ECS resources might not be immediately visible to all subsequent commands you run"
(https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_RunTask.html). So a read
right after CreateTaskSet may not show the set at all, and a read right after UpdateTaskSet
may show the old scale and the old computedDesiredCount, still STEADY_STATE with the
stabilityStatusAt of before the write. The waits therefore accept a task set only when

- its scale is the one asked for;
- the read is not older than the write (``updatedAt``) and ECS judged its stability after the
  write (``stabilityStatusAt`` not before ``updatedAt`` of our write);
- STEADY_STATE, computedDesiredCount is what ECS computes for that scale (the service's
  desiredCount times the scale, rounded up), runningCount has reached it and nothing is
  pending. STEADY_STATE itself means every task passes the load balancer's health checks
  (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_TaskSet.html).

A scale-down only needs the new scale to be visible: the tasks stop on ECS's own schedule.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime
from typing import Any

from canaryctl.platforms.ecs.tasksets import scale_of

__all__ = ["computed_desired_count", "not_settled", "target_health_summary"]


def computed_desired_count(service_desired: int, scale_percent: float) -> int:
    """ECS's computedDesiredCount: desiredCount x scale, always rounded up (API_TaskSet)."""
    return math.ceil(service_desired * scale_percent / 100 - 1e-9)


def _time(value: Any) -> datetime | None:
    return value if isinstance(value, datetime) else None


def not_settled(
    ts: dict[str, Any],
    *,
    scale: float,
    written_at: datetime | None,
    service_desired: int | None,
    steady: bool = True,
) -> str | None:
    """None when ``ts`` shows our write done (see the module docstring), else why not."""
    shown = scale_of(ts)
    if shown != scale:
        return f"scale reads {shown:g}%, not yet the {scale:g}% asked"
    updated = _time(ts.get("updatedAt"))
    if written_at is not None and updated is not None and updated < written_at:
        return "the answer predates the change"
    if not steady:
        return None
    status = ts.get("stabilityStatus")
    if status != "STEADY_STATE":
        return f"stabilityStatus={status}"
    judged = _time(ts.get("stabilityStatusAt"))
    reference = written_at or updated
    if judged is not None and reference is not None and judged < reference:
        return "STEADY_STATE was judged before the change"
    if "computedDesiredCount" not in ts:  # an answer without counts: its status alone
        return None
    desired = int(ts.get("computedDesiredCount", 0))
    if service_desired is not None:
        expected = computed_desired_count(service_desired, scale)
        if desired != expected:
            return f"computedDesiredCount {desired}, not yet the {expected} of {scale:g}%"
    running, pending = int(ts.get("runningCount", 0)), int(ts.get("pendingCount", 0))
    if running < desired or pending:
        return f"running {running} of {desired} (pending {pending})"
    return None


def target_health_summary(descriptions: list[dict[str, Any]]) -> str:
    """``DescribeTargetHealth``'s answer in one line: how many targets in each state, with the
    reasons ALB gives (``Target.FailedHealthChecks``, ``Elb.InitialHealthChecking``, ...;
    https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_TargetHealth.html)."""
    if not descriptions:
        return "no targets registered"
    counts: Counter[tuple[str, str, str]] = Counter()
    for found in descriptions:
        health = found.get("TargetHealth") or {}
        counts[
            (
                str(health.get("State", "unknown")),
                str(health.get("Reason") or ""),
                str(health.get("Description") or ""),
            )
        ] += 1
    parts = []
    for (state, reason, description), n in sorted(counts.items()):
        why = ": ".join(p for p in (reason, description) if p)
        parts.append(f"{n} {state}" + (f" ({why})" if why else ""))
    return ", ".join(parts)
