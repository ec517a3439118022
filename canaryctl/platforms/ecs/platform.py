"""ECS task sets behind ALB weighted target groups (services with the EXTERNAL controller).

Every method reads the current state from ECS and ELBv2 first and does only what is missing,
so calling it twice, or again after a crash at any point, converges (DESIGN §4). The roles
(stable/canary task set and target group) are derived from the PRIMARY task set each time;
see ``tasksets`` for the rules. The order of the steps is chosen so that every intermediate
state serves all traffic from a scaled-up task set:

- set weights: the canary's capacity follows its traffic: scaled to at least its weight
  (never below ``canaryScalePercent``) and steady before a weight goes up, scaled down to it
  only after a weight has come down.
- promote: canary to 100% scale → wait steady → 100% of traffic to the canary's group → old
  primary scaled to 0 → canary made primary → drain delay → old task set deleted.
- rollback: stable back to 100% scale if a promotion had started scaling it down → wait
  steady → 100% of traffic to stable → canary (and any retired task set) deleted.

No answer is trusted because it came first (ECS and ELBv2 reads are eventually consistent,
see ``waits``): a new task set is looked for until it shows; every scale change is waited for
until the set shows the new scale, steady after the write; a primary switch until the new set
reads PRIMARY; a weight change until the listener reads it back. Reads that still show the old
state are retried for ``consistency_timeout``; anything else is believed at once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from canaryctl import aws
from canaryctl.errors import InvalidInput, PlatformError, TrafficDrift, UnhealthyTaskSet
from canaryctl.platforms.base import CanarySpec, PlatformState, TaskSet, Weights
from canaryctl.platforms.ecs import taskdef
from canaryctl.platforms.ecs.settings import EcsSettings
from canaryctl.platforms.ecs.tasksets import (
    Layout,
    external_id,
    layout,
    scale_of,
    target_group_of,
    to_task_set,
    version_from_external_id,
)
from canaryctl.platforms.ecs.traffic import Traffic
from canaryctl.platforms.ecs.waits import not_settled

__all__ = ["EcsPlatform"]


class EcsPlatform:
    """The ``ecs`` platform. Clients may be injected (tests use botocore's Stubber)."""

    name = "ecs"

    def __init__(
        self,
        settings: EcsSettings,
        *,
        ecs: Any = None,
        elbv2: Any = None,
        retry: aws.RetryPolicy | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self._ecs = ecs if ecs is not None else aws.client("ecs", region=settings.region)
        self._elb = elbv2 if elbv2 is not None else aws.client("elbv2", region=settings.region)
        self._retry = retry or aws.RetryPolicy()
        self._clock, self._sleep = clock, sleep
        self._tds = taskdef.TaskDefinitions(self._ecs, self._call, settings.container_name)
        self._traffic = Traffic(self._elb, self._call, settings, clock=clock, sleep=sleep)

    @classmethod
    def from_config(cls, config: Any, *, service: str, base_dir: Path) -> EcsPlatform:
        return cls(EcsSettings.from_config(config, service=service))

    # -- reading -------------------------------------------------------------------------

    def describe(self) -> PlatformState:
        lay = self._layout()
        canary = lay.canary
        return PlatformState(
            stable=to_task_set(lay.primary, "stable", self._version(lay.primary)),
            canary=to_task_set(canary, "canary", self._version(canary)) if canary else None,
            weights=self._weights(lay),
            details={
                "cluster": self.settings.cluster,
                "service": self.settings.service,
                "stable_target_group": lay.stable_tg,
                "canary_target_group": lay.canary_tg,
                "retired_task_sets": [ts.get("id") for ts in lay.retired],
                "traffic": self.settings.traffic_arn,
            },
        )

    def target_groups(self) -> dict[str, str]:
        """``{"stable": ARN, "canary": ARN}`` as the roles are now (for the CloudWatch source)."""
        lay = self._layout()
        return {"stable": lay.stable_tg, "canary": lay.canary_tg}

    @property
    def load_balancer_dimension(self) -> str:
        return self.settings.load_balancer_dimension

    # -- the Platform protocol -----------------------------------------------------------

    def start_canary(self, spec: CanarySpec) -> TaskSet:
        scale = self._canary_scale(spec)
        lay = self._layout()
        if lay.canary is not None:
            running = self._version(lay.canary)
            if running != spec.version:
                raise PlatformError(
                    f"a canary of version {running} is already running (task set "
                    f"{lay.canary.get('id')}); roll it back before starting {spec.version}"
                )
            current = lay.canary
            if scale_of(current) < scale:  # never down: a promotion may have scaled it up
                current = self._scale(current, scale, "canary")
            return to_task_set(current, "canary", spec.version)
        if self._weights(lay).canary > 0:  # traffic to a group with no task set: stop it first
            self._write_weights(lay, Weights(100, 0))
        for old in lay.retired:
            self._delete(old)
        definition = self._tds.for_canary(lay.primary, spec, self.settings.image)
        created = self._create_task_set(lay, definition, spec.version, scale)
        return to_task_set(self._find(created), "canary", spec.version)

    def wait_healthy(self, timeout_s: float) -> TaskSet:
        lay = self._layout_until(lambda lay: lay.canary is not None)
        if lay.canary is None:
            raise PlatformError("there is no canary task set to wait for")
        ts = self._wait_settled(lay.canary, scale_of(lay.canary), None, timeout_s, "canary")
        return to_task_set(ts, "canary", self._version(ts))

    def set_weights(self, weights: Weights, expected: Weights | None = None) -> Weights:
        lay = self._layout()
        current = self._weights(lay)
        if current == weights:  # already done (a retried or resumed step): nothing to check
            self._follow(lay.canary, weights.canary, up=True)  # a crash may have come first
            return current
        if expected is not None and current != expected:
            raise TrafficDrift(
                f"weights are stable={current.stable}/canary={current.canary}, expected "
                f"stable={expected.stable}/canary={expected.canary}; someone else changed them"
            )
        if weights.canary > 0 and lay.canary is None:
            raise PlatformError("no canary task set: start the canary before sending it traffic")
        # Capacity follows traffic: up (and steady) before more traffic, down after less.
        if weights.canary > current.canary:
            self._follow(lay.canary, weights.canary, up=True)
        done = self._write_weights(lay, weights)
        if weights.canary < current.canary:
            self._follow(lay.canary, weights.canary, up=False)
        return done

    def _follow(self, canary: dict[str, Any] | None, weight: int, *, up: bool) -> None:
        """Scale the canary to what ``weight`` percent of the traffic needs: its weight, never
        below the pipeline's minimum (``canaryScalePercent``; full scale without one)."""
        if canary is None:
            return
        need = max(float(weight), self.settings.canary_scale_percent or 100.0)
        most = self.settings.canary_max_scale_percent
        if most is not None and need > most:
            raise InvalidInput(
                f"{weight}% of the traffic needs the canary task set at {need:g}% scale, above "
                f"platform.canaryMaxScalePercent ({most:g}%)"
            )
        have = scale_of(canary)
        if (up and have < need) or (not up and have > need):
            self._scale(canary, need, "canary")

    def promote(self) -> PlatformState:
        lay = self._layout()
        canary = lay.canary
        if canary is not None:
            if scale_of(canary) < 100:
                self._scale(canary, 100.0, "canary")
            else:
                self._wait_settled(canary, 100.0, None, self.settings.stability_timeout, "canary")
            if self._weights(lay) != Weights(0, 100):
                self._write_weights(lay, Weights(0, 100))
            if scale_of(lay.primary) > 0:
                self._scale(lay.primary, 0.0, "stable")
            lay = self._make_primary(canary, "make the canary task set primary")
        if lay.retired:
            self._sleep(self.settings.drain_delay)  # let in-flight and sticky sessions finish
            for old in lay.retired:
                self._delete(old)
        return self.describe()

    def rollback(self) -> PlatformState:
        lay = self._layout()
        if scale_of(lay.primary) < 100:  # a promotion had begun scaling stable down
            self._scale(lay.primary, 100.0, "stable")
        if self._weights(lay) != Weights(100, 0):
            self._write_weights(lay, Weights(100, 0))
        for ts in [*([lay.canary] if lay.canary else []), *lay.retired]:
            self._delete(ts)
        return self.describe()

    def close(self) -> None:
        for client in (self._ecs, self._elb):
            close = getattr(client, "close", None)
            if callable(close):
                close()

    # -- ECS -----------------------------------------------------------------------------

    def _call(self, method: Callable[..., Any], what: str, **kwargs: Any) -> Any:
        return aws.call(method, what=what, policy=self._retry, sleep=self._sleep, **kwargs)

    def _task_sets(self) -> list[dict[str, Any]]:
        answer = self._call(
            self._ecs.describe_task_sets,
            f"describe the task sets of service {self.settings.service}",
            cluster=self.settings.cluster,
            service=self.settings.service,
        )
        return list(answer.get("taskSets", []))

    def _layout(self) -> Layout:
        return layout(self._task_sets(), self.settings.target_groups, self.settings.service)

    def _make_primary(self, ts: dict[str, Any], what: str) -> Layout:
        """Make ``ts`` the service's PRIMARY task set; the layout once DescribeTaskSets reads it
        PRIMARY (right after the switch a read may still show the old primary: the ECS
        consistency model, canaryctl/platforms/ecs/waits.py)."""
        arn = ts["taskSetArn"]
        self._call(
            self._ecs.update_service_primary_task_set,
            what,
            cluster=self.settings.cluster,
            service=self.settings.service,
            primaryTaskSet=arn,
        )
        deadline = self._clock() + self.settings.consistency_timeout
        while True:
            sets = self._task_sets()
            if any(s.get("taskSetArn") == arn and s.get("status") == "PRIMARY" for s in sets):
                return layout(sets, self.settings.target_groups, self.settings.service)
            if self._clock() >= deadline:
                raise PlatformError(
                    f"task set {ts.get('id')} was made primary but still does not read "
                    f"PRIMARY after {self.settings.consistency_timeout:g}s"
                )
            self._sleep(self.settings.poll_interval)

    def _layout_until(self, done: Callable[[Layout], bool]) -> Layout:
        """The layout, read again while ``done`` says the reads have not caught up yet (for at
        most ``consistency_timeout``); the last one read either way."""
        deadline = self._clock() + self.settings.consistency_timeout
        while True:
            lay = self._layout()
            if done(lay) or self._clock() >= deadline:
                return lay
            self._sleep(self.settings.poll_interval)

    def _describe_one(self, ts: dict[str, Any]) -> dict[str, Any] | None:
        """The task set as ECS reads it now; None while it is not visible (MISSING)."""
        answer = self._call(
            self._ecs.describe_task_sets,
            f"describe task set {ts.get('id')}",
            cluster=self.settings.cluster,
            service=self.settings.service,
            taskSets=[ts["taskSetArn"]],
        )
        found = list(answer.get("taskSets", []))
        if found and found[0].get("status") == "DRAINING":
            raise PlatformError(f"task set {ts.get('id')} is being deleted (DRAINING)")
        return dict(found[0]) if found else None

    def _find(self, ts: dict[str, Any]) -> dict[str, Any]:
        """``ts`` as soon as DescribeTaskSets shows it: a set created a moment ago may be
        missing from the first answers (eventual consistency)."""
        deadline = self._clock() + self.settings.consistency_timeout
        while True:
            found = self._describe_one(ts)
            if found is not None:
                return found
            if self._clock() >= deadline:
                raise PlatformError(
                    f"task set {ts.get('id')} is not visible to DescribeTaskSets after "
                    f"{self.settings.consistency_timeout:g}s"
                )
            self._sleep(self.settings.poll_interval)

    def _version(self, ts: dict[str, Any]) -> str:
        # Not started by canaryctl (the first task set): the image tag names the version.
        return version_from_external_id(ts.get("externalId")) or self._tds.version(ts)

    def _canary_scale(self, spec: CanarySpec) -> float:
        scale = self.settings.canary_scale_percent or spec.scale_percent
        if not 0 < scale <= 100:
            raise InvalidInput(f"canary scale must be in (0, 100] percent, got {scale}")
        return float(scale)

    def _create_task_set(
        self, lay: Layout, definition: str, version: str, scale: float
    ) -> dict[str, Any]:
        primary = lay.primary
        balancers = [
            {**lb, "targetGroupArn": lay.canary_tg}
            for lb in primary.get("loadBalancers", [])
            if lb.get("targetGroupArn") == lay.stable_tg
        ]
        return self._create_like(
            primary,
            definition,
            version,
            balancers,
            scale,
            f"create the canary task set for {version}",
        )

    def _create_like(
        self,
        like: dict[str, Any],
        definition: str,
        version: str,
        balancers: list[dict[str, Any]],
        scale: float,
        what: str,
    ) -> dict[str, Any]:
        """CreateTaskSet of canaryctl's release ``version``, placed as ``like`` is (its network
        configuration, platform version, capacity provider strategy or launch type)."""
        kwargs: dict[str, Any] = {
            "cluster": self.settings.cluster,
            "service": self.settings.service,
            "taskDefinition": definition,
            "externalId": external_id(version),
            "loadBalancers": balancers,
            "scale": {"value": scale, "unit": "PERCENT"},
            # The same token on botocore's retries makes a lost-response retry create nothing.
            "clientToken": uuid.uuid4().hex,
            "tags": [{"key": taskdef.VERSION_TAG, "value": version}],
        }
        for key in ("networkConfiguration", "platformVersion"):
            if like.get(key):
                kwargs[key] = like[key]
        if like.get("capacityProviderStrategy"):
            kwargs["capacityProviderStrategy"] = like["capacityProviderStrategy"]
        elif like.get("launchType"):
            kwargs["launchType"] = like["launchType"]
        answer = self._call(self._ecs.create_task_set, what, **kwargs)
        return dict(answer["taskSet"])

    def _scale(self, ts: dict[str, Any], percent: float, role: str) -> dict[str, Any]:
        """Scale ``ts`` and wait until ECS shows it done: steady at the new scale after the
        write when scaling up, the new scale visible when scaling to 0."""
        answer = self._call(
            self._ecs.update_task_set,
            f"scale task set {ts.get('id')} to {percent:g}%",
            cluster=self.settings.cluster,
            service=self.settings.service,
            taskSet=ts["taskSetArn"],
            scale={"value": percent, "unit": "PERCENT"},
        )
        written = (answer.get("taskSet") or {}).get("updatedAt")
        timeout = self.settings.stability_timeout
        return self._wait_settled(ts, percent, written, timeout, role, steady=percent > 0)

    def _delete(self, ts: dict[str, Any]) -> None:
        try:
            self._call(
                self._ecs.delete_task_set,
                f"delete task set {ts.get('id')}",
                cluster=self.settings.cluster,
                service=self.settings.service,
                taskSet=ts["taskSetArn"],
                force=True,
            )
        except PlatformError as exc:
            if exc.code != "TaskSetNotFoundException":  # already gone: what we wanted
                raise

    def _wait_settled(
        self,
        ts: dict[str, Any],
        scale: float,
        written_at: Any,
        timeout_s: float,
        role: str,
        *,
        steady: bool = True,
    ) -> dict[str, Any]:
        """Poll ``ts`` until ``waits.not_settled`` has nothing to say (``written_at``: the
        ``updatedAt`` UpdateTaskSet answered, None when we did not just write)."""
        deadline = self._clock() + timeout_s
        desired: int | None = None
        while True:
            current = self._describe_one(ts)
            why = "not visible to DescribeTaskSets yet"
            if current is not None:
                if desired is None and steady and "computedDesiredCount" in current:
                    desired = self._service_desired_count()
                why = (
                    not_settled(
                        current,
                        scale=scale,
                        written_at=written_at,
                        service_desired=desired,
                        steady=steady,
                    )
                    or ""
                )
                if not why:
                    return current
            if self._clock() >= deadline:
                message = self._unhealthy_message(current or ts, role, timeout_s, why)
                raise UnhealthyTaskSet(message)
            self._sleep(min(self.settings.poll_interval, max(0.0, deadline - self._clock())))

    def _unhealthy_message(self, ts: dict[str, Any], role: str, timeout_s: float, why: str) -> str:
        message = (
            f"{role} task set {ts.get('id')} ({self._version(ts)}) is not healthy after "
            f"{timeout_s:g}s ({why}): stabilityStatus={ts.get('stabilityStatus')}, running "
            f"{ts.get('runningCount', 0)} of {ts.get('computedDesiredCount', 0)} "
            f"(pending {ts.get('pendingCount', 0)})"
        )
        group = target_group_of(ts)
        if group:
            health = self._traffic.target_health(group)
            message += f"; targets in {group.rsplit(':', 1)[-1]}: {health}"
        event = self._latest_service_event()
        return f"{message}; latest service event: {event}" if event else message

    def _describe_service(self) -> dict[str, Any]:
        answer = self._call(
            self._ecs.describe_services,
            f"describe service {self.settings.service}",
            cluster=self.settings.cluster,
            services=[self.settings.service],
        )
        return dict((answer.get("services") or [{}])[0])

    def _service_desired_count(self) -> int | None:
        desired = self._describe_service().get("desiredCount")
        return int(desired) if desired is not None else None

    def _latest_service_event(self) -> str | None:
        events = self._describe_service().get("events") or []
        return str(events[0].get("message")) if events else None

    # -- ELBv2 ---------------------------------------------------------------------------

    def _weights(self, lay: Layout) -> Weights:
        return self._traffic.weights(lay.stable_tg, lay.canary_tg)

    def _write_weights(self, lay: Layout, weights: Weights) -> Weights:
        return self._traffic.write(lay.stable_tg, lay.canary_tg, weights)
