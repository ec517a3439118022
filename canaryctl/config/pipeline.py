"""The pipeline file: how a service is rolled out (steps, platform, metrics, hooks)."""

from __future__ import annotations

import ipaddress
import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field, field_validator, model_validator

from canaryctl.config.metrics import MetricsConfig
from canaryctl.config.models import Model, Percent, PositiveDuration, field_error
from canaryctl.config.platform import EcsPlatformConfig, PlatformConfig
from canaryctl.config.state import StateConfig

__all__ = [
    "AnalysisOverrides",
    "AnalyzeStep",
    "HookItem",
    "Hooks",
    "LoadHook",
    "PauseStep",
    "Pipeline",
    "PromoteStep",
    "Step",
]

_SERVICE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def _service_name(value: str) -> str:
    if not _SERVICE.match(value):
        raise ValueError(f"{value!r}: use lowercase letters, digits and '-' (at most 63)")
    return value


ServiceName = Annotated[str, AfterValidator(_service_name)]
STEP_KINDS = ("setWeight", "analyze", "pause", "promote")


class AnalyzeStep(Model):
    """Observe the canary at its current weight; the SLOs are checked every interval."""

    duration: PositiveDuration | None = None  # default: analysis.window, then the policy's
    interval: PositiveDuration | None = None  # default: analysis.interval, then the policy's


class PauseStep(Model):
    """Wait: for ``duration``, or until a person runs ``canaryctl resume`` (no duration)."""

    duration: PositiveDuration | None = None


class PromoteStep(Model):
    """Make the canary the stable version at 100%."""


class Step(Model):
    """Exactly one of ``setWeight``, ``analyze``, ``pause``, ``promote``."""

    set_weight: int | None = Field(default=None, ge=0, le=100)
    analyze: AnalyzeStep | None = None
    pause: PauseStep | None = None
    promote: PromoteStep | None = None

    @model_validator(mode="before")
    @classmethod
    def _empty_is_default(cls, data: Any) -> Any:
        # `- promote:` parses as {"promote": None}; it means "with default settings".
        if isinstance(data, dict):
            for key in ("analyze", "pause", "promote"):
                if key in data and data[key] is None:
                    data = {**data, key: {}}
        elif isinstance(data, str) and data in STEP_KINDS[1:]:
            data = {data: {}}
        return data

    @model_validator(mode="after")
    def _exactly_one(self) -> Step:
        given = [
            k for k in ("set_weight", "analyze", "pause", "promote") if getattr(self, k) is not None
        ]
        if len(given) != 1:
            raise ValueError(f"a step needs exactly one of {', '.join(STEP_KINDS)}")
        return self

    @property
    def kind(self) -> str:
        for kind in ("set_weight", "analyze", "pause", "promote"):
            if getattr(self, kind) is not None:
                return kind
        raise AssertionError("validated step without a kind")


class LoadHook(Model):
    """Load against the platform's traffic endpoint (or ``url``): canaryctl's generator, or k6
    (``runner: k6``) playing the same profile, or a user's k6 ``script``.

    ``url`` is loopback-only unless ``allowRemote: true``: a literal address is checked here,
    a name is resolved by the hook runner before the deployment changes anything."""

    runner: Literal["canaryctl", "k6"] = "canaryctl"
    script: str | None = None  # runner k6: a k6 script (relative to the pipeline file)
    profile: Literal["steady", "ramp", "spike", "launch"] = "steady"
    rps: float = Field(gt=0, le=10_000)
    duration: PositiveDuration | None = None  # default: the analyze step's duration
    url: str | None = None  # http:// or https:// (TLS verified)
    allow_remote: bool = False  # the pipeline's opt-in to a url that is not loopback
    # players holding a WebSocket to the gateway during the run (``canaryctl load --ws-players``)
    ws_players: int = Field(default=0, ge=0, le=5_000)
    # share of the actions that are matchmaking tickets (default: 10% with WebSocket players or
    # on a launch day, else none)
    matchmaking: Percent | None = None  # 0%..100%, refused otherwise by Percent

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is not None:
            parts = urlsplit(value)
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    @model_validator(mode="after")
    def _runner_options(self) -> LoadHook:
        if self.script is not None and self.runner != "k6":
            raise field_error("script", "a k6 script runs on k6: set runner: k6")
        if self.runner == "k6":
            for key, given in (("wsPlayers", self.ws_players), ("matchmaking", self.matchmaking)):
                if given:
                    raise field_error(key, "is canaryctl's generator's (runner: canaryctl)")
        return self

    @model_validator(mode="after")
    def _loopback_unless_allowed(self) -> LoadHook:
        host = urlsplit(self.url).hostname if self.url else None
        if host and not self.allow_remote and _remote_literal(host):
            raise field_error(
                "url",
                f"{host} is not a loopback address; load goes to loopback only unless the "
                "pipeline opts in: set allowRemote: true on this hook",
            )
        return self


def _remote_literal(host: str) -> bool:
    """A literal IP address that is not loopback (names are resolved at run time)."""
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class HookItem(Model):
    load: LoadHook


class Hooks(Model):
    during_analysis: list[HookItem] = Field(default_factory=list)


class AnalysisOverrides(Model):
    """The policy's analysis timing, overridden here (``--set analysis.window=30s``)."""

    window: PositiveDuration | None = None
    interval: PositiveDuration | None = None


class Pipeline(Model):
    api_version: Literal["canaryctl/v1"]
    kind: Literal["Pipeline"]
    service: ServiceName
    description: str | None = None
    policy: str
    platform: PlatformConfig
    metrics: MetricsConfig
    state: StateConfig | None = None  # None: the file store ($CANARYCTL_STATE_DIR, .canaryctl)
    analysis: AnalysisOverrides = Field(default_factory=AnalysisOverrides)
    steps: list[Step] = Field(min_length=1)
    hooks: Hooks = Field(default_factory=Hooks)
    on_failure: Literal["rollback", "pause"] = "rollback"

    @field_validator("policy")
    @classmethod
    def _policy_path(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must name a policy file")
        return value

    @model_validator(mode="after")
    def _step_order(self) -> Pipeline:
        weight = 0
        for i, step in enumerate(self.steps):
            if step.set_weight is not None:
                weight = step.set_weight
            elif step.analyze is not None and weight == 0:
                raise field_error(
                    ("steps", i),
                    "analyze comes before any setWeight above 0: the canary has no traffic "
                    "to judge",
                )
            elif step.promote is not None and i != len(self.steps) - 1:
                raise field_error(("steps", i), "promote must be the last step")
        if self.hooks.during_analysis and not any(s.analyze for s in self.steps):
            raise field_error("hooks", "duringAnalysis hooks given, but no step analyzes")
        return self

    @model_validator(mode="after")
    def _capacity(self) -> Pipeline:
        # A step whose weight the canary's capacity settings cannot serve is refused here,
        # before anything is deployed (canaryctl/platforms/ecs/platform.py scales the canary
        # to its weight before the traffic moves).
        if isinstance(self.platform, EcsPlatformConfig):
            for i, step in enumerate(self.steps):
                problem = step.set_weight and self.platform.capacity_problem(step.set_weight)
                if problem:
                    raise field_error(("steps", i, "setWeight"), problem)
        return self
