"""The ECS platform's settings, read from the pipeline's validated ``platform`` model.

The model (``canaryctl.config``'s ``EcsPlatformConfig``) is read by attribute, so any object
with these attributes works (tests pass a ``SimpleNamespace``):

    cluster                 str, required: cluster name or ARN
    service                 str | None: ECS service name (default: the pipeline's service)
    listener_arn            str | None: the listener whose default action forwards to the TGs
    listener_rule_arn       str | None: or a listener rule's forward action (exactly one of the two)
    target_groups           {blue: ARN, green: ARN}, required: the two target groups; which one
                            is stable is read from the PRIMARY task set, never from here
    container_name          str | None: the container whose image changes (default: the primary
                            task set's load-balanced container, else the only container)
    image                   str | None: image template, ``{version}`` is replaced, e.g.
                            ``123456789012.dkr.ecr.eu-west-1.amazonaws.com/gamebackend:{version}``
    region                  str | None: default AWS_REGION / AWS_DEFAULT_REGION
    stability_timeout       seconds (default 600): how long promote/rollback wait for a task set
    drain_delay             seconds (default 30): between scaling the old task set to 0 and
                            deleting it
    canary_scale_percent    float | None: the canary task set's smallest scale (percent of the
                            service's desired count); above it the canary is scaled to its
                            traffic weight; None → the engine's ``CanarySpec.scale_percent``
    canary_max_scale_percent float | None: the largest scale the canary may take before
                            promotion; a step with a larger weight is refused at validation
    poll_interval           seconds (default 5): describe_task_sets polling interval
    consistency_timeout     seconds (default 60): how long reads that do not show a write yet
                            (a new task set, a primary switch, new weights) are retried

Durations may also be strings such as ``"30s"``, ``"5m"``, ``"250ms"``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from canaryctl.errors import InvalidInput

__all__ = ["EcsSettings", "parse_seconds"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


def parse_seconds(value: Any, field: str) -> float:
    """A duration in seconds from a number or a string like ``"30s"``."""
    if isinstance(value, bool):
        raise InvalidInput(f"platform.{field}: expected a duration, got {value!r}")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise InvalidInput(f"platform.{field}: expected a duration like 30s, got {value!r}")
        seconds = float(match.group(1)) * _UNITS[match.group(2)]
    if seconds < 0:
        raise InvalidInput(f"platform.{field}: must not be negative, got {value!r}")
    return seconds


def _target_groups(value: Any) -> tuple[str, str]:
    if value is None:
        raise InvalidInput("platform.targetGroups: required ({blue: ARN, green: ARN})")
    if isinstance(value, Mapping):
        blue, green = value.get("blue"), value.get("green")
    else:
        blue, green = getattr(value, "blue", None), getattr(value, "green", None)
    if not blue or not green or blue == green:
        raise InvalidInput("platform.targetGroups: needs two different ARNs, blue and green")
    return str(blue), str(green)


@dataclass(frozen=True)
class EcsSettings:
    cluster: str
    service: str
    target_groups: tuple[str, str]
    listener_arn: str | None = None
    listener_rule_arn: str | None = None
    container_name: str | None = None
    image: str | None = None
    region: str | None = None
    stability_timeout: float = 600.0
    drain_delay: float = 30.0
    canary_scale_percent: float | None = None
    canary_max_scale_percent: float | None = None
    poll_interval: float = 5.0
    consistency_timeout: float = 60.0

    def __post_init__(self) -> None:
        if bool(self.listener_arn) == bool(self.listener_rule_arn):
            raise InvalidInput("platform: set exactly one of listenerArn and listenerRuleArn")
        for name, pct in (
            ("canaryScalePercent", self.canary_scale_percent),
            ("canaryMaxScalePercent", self.canary_max_scale_percent),
        ):
            if pct is not None and not 0 < pct <= 100:
                raise InvalidInput(f"platform.{name}: must be in (0, 100], got {pct}")
        if self.image is not None and "{" in self.image.replace("{version}", ""):
            raise InvalidInput(
                f"platform.image: only {{version}} may be substituted, got {self.image!r}"
            )

    @property
    def traffic_arn(self) -> str:
        """The listener or listener rule ARN that carries the weighted forward action."""
        return str(self.listener_arn or self.listener_rule_arn)

    @property
    def load_balancer_dimension(self) -> str:
        """CloudWatch's ``LoadBalancer`` dimension (``app/<name>/<id>``), from the ARN."""
        # ...:listener/app/NAME/LBID/LISTENERID or ...:listener-rule/app/NAME/LBID/LID/RID
        resource = self.traffic_arn.split(":", 5)[-1]
        parts = resource.split("/")
        if len(parts) < 4:
            raise InvalidInput(f"platform: not a listener ARN: {self.traffic_arn}")
        return "/".join(parts[1:4])

    @classmethod
    def from_config(cls, config: Any, *, service: str) -> EcsSettings:
        def get(name: str, default: Any = None) -> Any:
            value = getattr(config, name, default)
            return default if value is None else value

        cluster = get("cluster")
        if not cluster:
            raise InvalidInput("platform.cluster: required for the ecs platform")
        scale, most = get("canary_scale_percent"), get("canary_max_scale_percent")
        return cls(
            cluster=str(cluster),
            service=str(get("service", service)),
            target_groups=_target_groups(get("target_groups")),
            listener_arn=get("listener_arn"),
            listener_rule_arn=get("listener_rule_arn"),
            container_name=get("container_name"),
            image=get("image"),
            region=get("region"),
            stability_timeout=parse_seconds(get("stability_timeout", 600.0), "stabilityTimeout"),
            drain_delay=parse_seconds(get("drain_delay", 30.0), "drainDelay"),
            canary_scale_percent=float(scale) if scale is not None else None,
            canary_max_scale_percent=float(most) if most is not None else None,
            poll_interval=parse_seconds(get("poll_interval", 5.0), "pollInterval"),
            consistency_timeout=parse_seconds(
                get("consistency_timeout", 60.0), "consistencyTimeout"
            ),
        )
