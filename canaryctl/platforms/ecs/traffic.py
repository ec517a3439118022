"""The ELBv2 side of the ECS platform: the weighted forward action and the target groups'
health. ``listener`` holds the pure functions on the actions; this class makes the calls."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from canaryctl.errors import PlatformError, TrafficDrift
from canaryctl.platforms.base import Weights
from canaryctl.platforms.ecs import listener
from canaryctl.platforms.ecs.settings import EcsSettings
from canaryctl.platforms.ecs.waits import target_health_summary

__all__ = ["Traffic"]


class Traffic:
    """Reads and writes the split on the listener (or rule) ``settings`` names."""

    def __init__(
        self,
        elb: Any,
        call: Callable[..., Any],
        settings: EcsSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._elb, self._call, self.settings = elb, call, settings
        self._clock, self._sleep = clock, sleep

    def read_actions(self) -> list[dict[str, Any]]:
        arn = self.settings.traffic_arn
        if self.settings.listener_arn:
            answer = self._call(
                self._elb.describe_listeners, f"describe listener {arn}", ListenerArns=[arn]
            )
            return list(answer["Listeners"][0]["DefaultActions"])
        answer = self._call(self._elb.describe_rules, f"describe rule {arn}", RuleArns=[arn])
        return list(answer["Rules"][0]["Actions"])

    def weights(self, stable_tg: str, canary_tg: str) -> Weights:
        return listener.read_weights(self.read_actions(), stable_tg, canary_tg)

    def write(self, stable_tg: str, canary_tg: str, weights: Weights) -> Weights:
        """Set ``weights`` and read them back. ELBv2 reads may lag the write: while they show
        the weights from before it they are retried for ``consistency_timeout``; any other
        weights are someone else's (``TrafficDrift``)."""
        arn = self.settings.traffic_arn
        actions = self.read_actions()
        before = listener.read_weights(actions, stable_tg, canary_tg)
        new = listener.with_weights(actions, stable_tg, canary_tg, weights)
        what = f"set weights stable={weights.stable}/canary={weights.canary} on {arn}"
        if self.settings.listener_arn:
            self._call(self._elb.modify_listener, what, ListenerArn=arn, DefaultActions=new)
        else:
            self._call(self._elb.modify_rule, what, RuleArn=arn, Actions=new)
        deadline = self._clock() + self.settings.consistency_timeout
        while True:
            readback = self.weights(stable_tg, canary_tg)
            if readback == weights:
                return readback
            if readback != before or self._clock() >= deadline:
                raise TrafficDrift(
                    f"set stable={weights.stable}/canary={weights.canary} but read back "
                    f"stable={readback.stable}/canary={readback.canary}; someone else changed them"
                )
            self._sleep(self.settings.poll_interval)

    def target_health(self, group: str) -> str:
        """One line on the targets of ``group`` (for an error message: never raises)."""
        try:
            answer = self._call(
                self._elb.describe_target_health,
                f"describe the health of the targets in {group}",
                TargetGroupArn=group,
            )
        except PlatformError as exc:  # the timeout is the error; its details are a bonus
            return f"unknown ({exc})"
        return target_health_summary(list(answer.get("TargetHealthDescriptions", [])))
