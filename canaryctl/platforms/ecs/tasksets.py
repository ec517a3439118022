"""Who is who among a service's task sets, read from ECS alone (nothing kept in memory).

- stable: the PRIMARY task set. Its target group is the stable one; the other of the two
  configured target groups is the canary's. So blue and green swap roles at each promotion
  without canaryctl recording anything.
- canary: an ACTIVE (non-primary) task set with a scale above 0.
- retired: an ACTIVE task set scaled to 0 — the previous stable after a promotion, waiting
  for its drain delay before deletion. A promotion interrupted there is finished by the next
  ``promote`` (or cleaned up by the next ``start_canary``/``rollback``).
- DRAINING task sets are already deleted (ECS keeps showing them while tasks stop): ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from canaryctl.errors import PlatformError
from canaryctl.platforms.base import TaskSet

__all__ = ["EXTERNAL_ID_PREFIX", "Layout", "external_id", "is_steady", "layout", "to_task_set"]

EXTERNAL_ID_PREFIX = "canaryctl/"


def external_id(version: str) -> str:
    """The ``externalId`` canaryctl gives a task set of ``version``."""
    return f"{EXTERNAL_ID_PREFIX}{version}"


def version_from_external_id(raw: Any) -> str | None:
    value = str(raw or "")
    if value.startswith(EXTERNAL_ID_PREFIX):
        return value[len(EXTERNAL_ID_PREFIX) :]
    return value or None


def scale_of(ts: dict[str, Any]) -> float:
    return float((ts.get("scale") or {}).get("value", 100.0))


def target_group_of(ts: dict[str, Any]) -> str | None:
    lbs = ts.get("loadBalancers") or []
    return str(lbs[0]["targetGroupArn"]) if lbs and lbs[0].get("targetGroupArn") else None


def is_steady(ts: dict[str, Any]) -> bool:
    """ECS's own verdict (STEADY_STATE: tasks running and passing the ALB health checks) and
    the counts. A task set that omits the counts (moto does) is judged by its status alone."""
    running = int(ts.get("runningCount", 0))
    desired = int(ts.get("computedDesiredCount", 0))
    return ts.get("stabilityStatus") == "STEADY_STATE" and running >= desired


@dataclass
class Layout:
    primary: dict[str, Any]
    stable_tg: str
    canary_tg: str
    canary: dict[str, Any] | None = None
    retired: list[dict[str, Any]] = field(default_factory=list)


def layout(task_sets: list[dict[str, Any]], target_groups: tuple[str, str], service: str) -> Layout:
    live = [ts for ts in task_sets if ts.get("status") in ("PRIMARY", "ACTIVE")]
    primaries = [ts for ts in live if ts["status"] == "PRIMARY"]
    if not primaries:
        raise PlatformError(
            f"service {service!r} has no PRIMARY task set: create the first one "
            "with `canaryctl ecs adopt -p PIPELINE` (docs/aws.md, step 4)"
        )
    primary = primaries[0]
    stable_tg = target_group_of(primary)
    if stable_tg not in target_groups:
        raise PlatformError(
            f"the primary task set {primary.get('id')} is attached to {stable_tg}, which is "
            "not one of platform.targetGroups"
        )
    canary_tg = target_groups[1] if stable_tg == target_groups[0] else target_groups[0]
    result = Layout(primary=primary, stable_tg=stable_tg, canary_tg=canary_tg)
    others = [ts for ts in live if ts is not primary]
    result.retired = [ts for ts in others if scale_of(ts) == 0]
    canaries = [ts for ts in others if scale_of(ts) > 0]
    if len(canaries) > 1:
        ids = ", ".join(str(ts.get("id")) for ts in canaries)
        raise PlatformError(f"service {service!r} has several non-primary task sets ({ids})")
    if canaries:
        result.canary = canaries[0]
        if target_group_of(result.canary) != canary_tg:
            raise PlatformError(
                f"task set {result.canary.get('id')} is not attached to the canary target "
                f"group {canary_tg}"
            )
    return result


def to_task_set(ts: dict[str, Any], role: str, version: str) -> TaskSet:
    return TaskSet(
        id=str(ts.get("id")),
        version=version,
        role=role,
        healthy=is_steady(ts),
        running=int(ts.get("runningCount", 0)),
        desired=int(ts.get("computedDesiredCount", 0)),
        details={
            "arn": ts.get("taskSetArn"),
            "status": ts.get("status"),
            "stability": ts.get("stabilityStatus"),
            "scale_percent": scale_of(ts),
            "target_group": target_group_of(ts),
            "task_definition": ts.get("taskDefinition"),
            "pending": int(ts.get("pendingCount", 0)),
        },
    )
