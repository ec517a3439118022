"""The SLO policy file, written by policy authors (not necessarily Python people).

    slos:
      all:                        # every request of the service together
        errorRate: {max: 1%}
        latency: {p95: 250ms}
        relative: {p95: 1.2x, errorRate: {maxIncrease: 0.5%}}
      wallet: {errorRate: {max: 0.5%}, failureLimit: 1}

Settings (minRequests, failureLimit, missingData, judge, earlyPromotion) cascade from
``analysis`` to a route class to one SLO block. See docs/policies.md.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BeforeValidator, Field, model_validator

from canaryctl.config.models import (
    Factor,
    Model,
    Percent,
    PositiveDuration,
    field_error,
    suggest,
)
from canaryctl.config.units import format_duration, parse_duration, parse_percent
from canaryctl.metrics.routes import LATENCY_BUCKETS, ROUTE_CLASSES

__all__ = [
    "ALL_ROUTES",
    "AnalysisDefaults",
    "ErrorRateBound",
    "JudgeRef",
    "LatencyBounds",
    "MissingData",
    "Policy",
    "RelativeBlock",
    "RelativeErrorRate",
    "RelativeLatency",
    "RouteClassSlos",
    "Settings",
    "quantile_of",
]

ALL_ROUTES = "all"
_QUANTILE = re.compile(r"p(\d{1,2}(?:\.\d+)?)")
_PER_POLICY = "is set once for the whole policy, under analysis:"


def quantile_of(key: str) -> float:
    """``p95`` → 0.95, ``p99.9`` → 0.999."""
    return float(key[1:]) / 100.0


def _quantile_key(key: str) -> str:
    match = _QUANTILE.fullmatch(key)
    if not match or not 0 < float(match.group(1)) < 100:
        raise ValueError(f"invalid quantile {key!r}: write p50, p90, p95, p99 or p99.9")
    return key


def _looks_like_quantile(key: Any) -> bool:
    return isinstance(key, str) and len(key) > 1 and key[0] == "p" and key[1].isdigit()


def _resolvable_latency(seconds: float) -> float:
    low, high = LATENCY_BUCKETS[0], LATENCY_BUCKETS[-1]
    if seconds < low:
        raise ValueError(
            f"{format_duration(seconds)} is below the smallest latency bucket "
            f"({format_duration(low)}): the histogram cannot resolve it"
        )
    if seconds >= high:
        raise ValueError(
            f"{format_duration(seconds)} is not below the largest finite latency bucket "
            f"({format_duration(high)}): the histogram cannot tell a slower canary apart"
        )
    return seconds


def _known_route_class(name: str) -> str:
    known = [ALL_ROUTES, *ROUTE_CLASSES]
    if name not in known:
        raise ValueError(
            f"unknown route class {name!r} (known: {', '.join(known)}){suggest(name, known)}"
        )
    return name


QuantileKey = Annotated[str, AfterValidator(_quantile_key)]
LatencyBound = Annotated[
    float, BeforeValidator(parse_duration), AfterValidator(_resolvable_latency)
]
RouteClassName = Annotated[str, AfterValidator(_known_route_class)]


class MissingData(Model):
    """What to do when checks return no data: ``action`` after ``limit`` consecutive checks."""

    action: Literal["rollback", "pause"] = "rollback"
    limit: int = Field(default=3, ge=1)


class JudgeRef(Model):
    """``judge: sequential`` or ``judge: {type: sequential, alpha: 1%}``."""

    type: str
    params: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):
            return {"type": data}
        if isinstance(data, dict) and "params" not in data:
            rest = {_snake(k): _param(v) for k, v in data.items() if k != "type"}
            return {"type": data.get("type"), "params": rest}
        return data

    @model_validator(mode="after")
    def _registered(self) -> JudgeRef:
        from canaryctl.analysis import JUDGES  # light: a dict of names

        if self.type not in JUDGES:
            known = ", ".join(sorted(JUDGES))
            raise field_error(
                "type",
                f"unknown judge {self.type!r} (known: {known}){suggest(self.type, list(JUDGES))}",
            )
        return self


def _param(value: Any) -> Any:
    """Judge parameters in the policy's units: ``1%`` → 0.01, ``30s`` → 30.0, else as written."""
    if isinstance(value, str):
        for parse in (parse_percent, parse_duration):
            try:
                return parse(value) if value.strip()[-1:] in "%smh" else value
            except ValueError:
                continue
    return value


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", str(key)).lower()


class Settings(Model):
    """Per-SLO settings; unset values cascade from the enclosing block."""

    misplaced: ClassVar[dict[str, str]] = {
        "interval": f"interval {_PER_POLICY}",
        "window": f"window {_PER_POLICY}",
    }

    min_requests: int | None = Field(default=None, ge=1)
    failure_limit: int | None = Field(default=None, ge=1)
    missing_data: MissingData | None = None
    judge: JudgeRef | None = None
    early_promotion: bool | None = None
    required: bool | None = None


class ErrorRateBound(Settings):
    max: Percent

    @model_validator(mode="after")
    def _can_fail(self) -> ErrorRateBound:
        if self.max >= 1:
            raise field_error("max", "an error-rate bound of 100% can never fail")
        return self


def _split_quantiles(data: Any, target: str = "quantiles") -> Any:
    """Move ``p95: …`` keys into one ``quantiles`` mapping (keeping their spelling, so errors
    still point at their lines)."""
    if isinstance(data, dict) and target not in data:
        quantiles = {k: v for k, v in data.items() if _looks_like_quantile(k)}
        rest = {k: v for k, v in data.items() if not _looks_like_quantile(k)}
        return {**rest, target: quantiles}
    return data


class LatencyBounds(Settings):
    """``latency: {p95: 250ms, p99: 1s}``: each quantile at most the bound."""

    hidden: ClassVar[frozenset[str]] = frozenset({"quantiles"})
    dynamic_hint: ClassVar[str] = "p50/p95/p99…"

    quantiles: dict[QuantileKey, LatencyBound]

    @model_validator(mode="before")
    @classmethod
    def _collect(cls, data: Any) -> Any:
        return _split_quantiles(data)

    @model_validator(mode="after")
    def _some(self) -> LatencyBounds:
        if not self.quantiles:
            raise ValueError("give at least one quantile bound, e.g. p95: 250ms")
        return self


class _FactorBound(Model):
    """A bound relative to stable, written ``1.2x`` for ``{factor: 1.2x}``."""

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str | int | float) and not isinstance(data, bool):
            return {"factor": data}
        return data


def _check_factor(factor: float | None) -> None:
    if factor is not None and factor < 1:
        raise field_error(
            "factor", f"{factor:g}x is below 1x: the canary would have to beat stable"
        )


class _Relative(_FactorBound):
    factor: Factor | None = None
    max_increase: float | None = None

    @model_validator(mode="after")
    def _one_form(self) -> _Relative:
        if (self.factor is None) == (self.max_increase is None):
            raise ValueError("give either factor (e.g. 1.2x) or maxIncrease")
        _check_factor(self.factor)
        return self


class RelativeLatency(_Relative):
    """``p95: 1.2x`` or ``{factor: 1.2x, floor: 100ms}`` or ``{maxIncrease: 50ms}``."""

    max_increase: PositiveDuration | None = None
    floor: PositiveDuration = 0.05


class RelativeErrorRate(_Relative):
    """``{maxIncrease: 0.5%}`` (stable + 0.5 points) or ``{factor: 2x, floor: 0.5%}``."""

    max_increase: Percent | None = None
    floor: Percent = 0.005


class RelativeShape(_FactorBound):
    """``shape: 1.25x`` or ``{factor: 1.25x, floor: 100ms}``: at every bucket bound of the
    latency histogram (at or above the floor), the canary's share of requests slower than it
    is at most ``factor`` times the stable's. Judged by the distribution judge, which catches a
    changed tail that leaves the quantiles where they were."""

    factor: Factor
    floor: PositiveDuration | None = None

    @model_validator(mode="after")
    def _not_below_one(self) -> RelativeShape:
        _check_factor(self.factor)
        return self


class RelativeBlock(Settings):
    """Bounds relative to the stable version over the same interval."""

    hidden: ClassVar[frozenset[str]] = frozenset({"quantiles"})
    dynamic_hint: ClassVar[str] = "p50/p95/p99…"

    quantiles: dict[QuantileKey, RelativeLatency] = Field(default_factory=dict)
    error_rate: RelativeErrorRate | None = None
    shape: RelativeShape | None = None

    @model_validator(mode="before")
    @classmethod
    def _collect(cls, data: Any) -> Any:
        return _split_quantiles(data)

    @model_validator(mode="after")
    def _some(self) -> RelativeBlock:
        if not self.quantiles and self.error_rate is None and self.shape is None:
            raise ValueError(
                "give a relative bound, e.g. p95: 1.2x, errorRate: {factor: 1.2x} or shape: 1.25x"
            )
        return self


class RouteClassSlos(Settings):
    error_rate: ErrorRateBound | None = None
    latency: LatencyBounds | None = None
    relative: RelativeBlock | None = None

    @model_validator(mode="after")
    def _some(self) -> RouteClassSlos:
        if self.error_rate is None and self.latency is None and self.relative is None:
            raise ValueError("no SLO given: add errorRate, latency or relative")
        return self


class AnalysisDefaults(Model):
    """Timing of the analysis and the defaults of every SLO's settings."""

    interval: PositiveDuration = 10.0
    window: PositiveDuration = 120.0
    min_requests: int = Field(default=50, ge=1)
    failure_limit: int = Field(default=2, ge=1)
    missing_data: MissingData = Field(default_factory=MissingData)
    judge: JudgeRef = Field(default_factory=lambda: JudgeRef(type="sequential"))
    early_promotion: bool = False
    # False: an SLO that never saw enough requests to judge does not hold the promotion up
    # (it can still fail it, and missing data still counts). As Kayenta's non-critical metrics.
    required: bool = True

    @model_validator(mode="after")
    def _timing(self) -> AnalysisDefaults:
        if self.interval < 1:
            raise field_error("interval", "must be at least 1s")
        if self.window < self.interval:
            raise field_error(
                "window",
                f"window ({format_duration(self.window)}) is shorter than the interval "
                f"({format_duration(self.interval)})",
            )
        return self


class Policy(Model):
    api_version: Literal["canaryctl/v1"]
    kind: Literal["Policy"]
    name: str | None = None
    description: str | None = None
    analysis: AnalysisDefaults = Field(default_factory=AnalysisDefaults)
    slos: dict[RouteClassName, RouteClassSlos] = Field(min_length=1)
