"""Platform sections of a pipeline (``platform: {type: local | ecs, ...}``).

The implementations in ``canaryctl.platforms`` receive these validated models.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal

from pydantic import Field, model_validator

from canaryctl.config.models import Duration, Model, PositiveDuration, field_error

__all__ = ["EcsPlatformConfig", "LocalPlatformConfig", "PlatformConfig", "TargetGroups"]


class LocalPlatformConfig(Model):
    """The local sandbox: backend processes behind a weighted router."""

    type: Literal["local"] = "local"
    sandbox: str = ".sandbox"  # the sandbox state dir, relative to the working directory
    health_timeout: PositiveDuration = 60.0


class TargetGroups(Model):
    """The service's two ALB target groups; which one is stable is read from the platform."""

    blue: str
    green: str

    @model_validator(mode="after")
    def _different(self) -> TargetGroups:
        if self.blue == self.green:
            raise field_error("green", "must differ from blue")
        return self


class EcsPlatformConfig(Model):
    """ECS service with the EXTERNAL deployment controller and two ALB target groups.

    Field meanings: canaryctl/platforms/ecs/settings.py (``EcsSettings`` has the same
    fields). ``fromEnvironment: NAME`` fills this block from a Terraform environment's
    ``canaryctl_ecs`` output before validation (canaryctl/infra/outputs.py).
    """

    misplaced: ClassVar[dict[str, str]] = {
        "environment": "to take these values from a Terraform environment's outputs, write "
        "fromEnvironment: NAME (or ${env.NAME.outputs.KEY} in a value)",
    }

    type: Literal["ecs"] = "ecs"
    region: str | None = None
    cluster: str
    service: str | None = None  # default: the pipeline's service
    listener_arn: str | None = None
    listener_rule_arn: str | None = None
    target_groups: TargetGroups
    container_name: str | None = None
    image: str | None = None  # may contain {version}
    # the canary task set's smallest scale; it follows its traffic weight above that
    canary_scale_percent: float | None = Field(default=None, gt=0, le=100)
    # the largest scale the canary may take before promotion (a budget, cluster capacity)
    canary_max_scale_percent: float | None = Field(default=None, gt=0, le=100)
    health_timeout: PositiveDuration = 300.0
    stability_timeout: PositiveDuration = 600.0
    # After scaling the old task set to 0, before deleting it. As long as the target groups'
    # deregistration delay (Terraform's default, 300 s = the ALB idle timeout): deleting a
    # task set whose targets are still draining cuts the WebSocket sessions they hold.
    drain_delay: Duration = 300.0
    # The target groups' deregistration delay, when known (``fromEnvironment`` passes it):
    # drainDelay may not be shorter.
    deregistration_delay: Duration | None = None
    poll_interval: PositiveDuration = 5.0
    consistency_timeout: PositiveDuration = 60.0

    @model_validator(mode="after")
    def _listener(self) -> EcsPlatformConfig:
        if bool(self.listener_arn) == bool(self.listener_rule_arn):
            raise ValueError("set exactly one of listenerArn and listenerRuleArn")
        if self.image is not None and "{" in self.image.replace("{version}", ""):
            raise field_error("image", "only {version} may be substituted")
        drain, deregistration = self.drain_delay, self.deregistration_delay
        if deregistration is not None and drain < deregistration:
            raise field_error(
                "drainDelay",
                f"{drain:g} s is shorter than the target groups' deregistrationDelay "
                f"({deregistration:g} s): the old task set would be deleted while its "
                "connections (WebSocket sessions) still drain; wait at least as long",
            )
        low, high = self.canary_scale_percent, self.canary_max_scale_percent
        if low is not None and high is not None and low > high:
            raise field_error(
                "canaryScalePercent", f"{low:g}% is above canaryMaxScalePercent ({high:g}%)"
            )
        return self

    def capacity_problem(self, weight: int) -> str | None:
        """Why the canary cannot serve ``weight`` percent of the traffic, if it cannot: it is
        scaled to at least its weight, and never above ``canaryMaxScalePercent``."""
        high = self.canary_max_scale_percent
        if high is not None and weight > high:
            return (
                f"{weight}% of the traffic needs the canary task set scaled to {weight}% or "
                f"more, above platform.canaryMaxScalePercent ({high:g}%)"
            )
        return None


PlatformConfig = Annotated[LocalPlatformConfig | EcsPlatformConfig, Field(discriminator="type")]
