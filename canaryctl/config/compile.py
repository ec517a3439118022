"""From validated models to what the engine runs: SLO rules and the plan.

Checks that need more than one section (cascaded settings, the pipeline's timing against the
policy's) live here and report the location of the value that is at fault.
"""

from __future__ import annotations

import math
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

from canaryctl.analysis.base import SloRule
from canaryctl.config.diagnostics import Source
from canaryctl.config.pipeline import LoadHook, Pipeline
from canaryctl.config.policy import (
    ALL_ROUTES,
    AnalysisDefaults,
    JudgeRef,
    MissingData,
    Policy,
    RelativeErrorRate,
    RelativeLatency,
    RelativeShape,
    Settings,
    quantile_of,
)
from canaryctl.config.units import format_duration
from canaryctl.rollout.plan import LoadHookSpec, Plan, RuleSpec, StepSpec

__all__ = ["build_plan", "compile_rules", "rule_location"]


_SETTINGS = (
    "min_requests",
    "failure_limit",
    "missing_data",
    "judge",
    "early_promotion",
    "required",
)


class _Resolved:
    """Settings after the cascade analysis → route class → SLO block."""

    def __init__(self, defaults: AnalysisDefaults) -> None:
        self.min_requests = defaults.min_requests
        self.failure_limit = defaults.failure_limit
        self.missing_data: MissingData = defaults.missing_data
        self.judge: JudgeRef = defaults.judge
        self.early_promotion = defaults.early_promotion
        self.required = defaults.required

    def over(self, block: Settings) -> _Resolved:
        out = _Resolved.__new__(_Resolved)
        out.__dict__.update(self.__dict__)
        for name in _SETTINGS:
            value = getattr(block, name)
            if value is not None:
                setattr(out, name, value)
        return out


def _rule(name: str, route: str | None, s: _Resolved, **slo: Any) -> RuleSpec:
    params = {**s.judge.params, **slo.pop("params", {}), "early_promotion": s.early_promotion}
    return RuleSpec(
        slo=SloRule(
            name=name,
            route_class=route,
            min_requests=s.min_requests,
            judge=s.judge.type,
            params=params,
            **slo,
        ),
        failure_limit=s.failure_limit,
        missing_action=s.missing_data.action,
        missing_limit=s.missing_data.limit,
        early_promotion=s.early_promotion,
        required=s.required,
    )


def _check_quantile(source: Source, loc: tuple[Any, ...], key: str, s: _Resolved) -> float:
    q = quantile_of(key)
    needed = math.ceil(1 / (1 - q) - 1e-9)
    if s.min_requests < needed:
        raise source.error(
            loc,
            f"{key} is decided by the slowest {100 * (1 - q):.3g}% of requests: with minRequests "
            f"{s.min_requests} a check may see none of them; set minRequests to at least {needed}",
        )
    return q


def _relative(rb: RelativeLatency | RelativeErrorRate) -> dict[str, Any]:
    return {
        "comparison": "relative",
        "factor": rb.factor,
        "threshold": rb.floor,
        "params": {"margin": rb.max_increase} if rb.max_increase is not None else {},
    }


def _shape(name: str, route: str | None, s: _Resolved, shape: RelativeShape) -> RuleSpec:
    """The distribution judge on the whole latency histogram, whatever judge the block names
    (its parameters, e.g. alpha and minBake, still apply)."""
    spec = _rule(
        name, route, s, kind="latency", comparison="relative", factor=shape.factor,
        threshold=shape.floor,
    )  # fmt: skip
    return replace(spec, slo=replace(spec.slo, judge="distribution"))


def compile_rules(policy: Policy, source: Source) -> tuple[RuleSpec, ...]:
    """Every SLO of the policy as a ``RuleSpec`` named ``<route class>.<slo>``."""
    rules: list[RuleSpec] = []
    base = _Resolved(policy.analysis)
    for rc_name, rc in policy.slos.items():
        route = None if rc_name == ALL_ROUTES else rc_name
        here = base.over(rc)
        at = ("slos", rc_name)
        if rc.error_rate is not None:
            s = here.over(rc.error_rate)
            rules.append(
                _rule(
                    f"{rc_name}.error_rate",
                    route,
                    s,
                    kind="error_rate",
                    threshold=rc.error_rate.max,
                )
            )
        if rc.latency is not None:
            s = here.over(rc.latency)
            for key, bound in rc.latency.quantiles.items():
                q = _check_quantile(source, (*at, "latency", key), key, s)
                rules.append(
                    _rule(f"{rc_name}.{key}", route, s, kind="latency", quantile=q, threshold=bound)
                )
        if rc.relative is not None:
            s = here.over(rc.relative)
            for key, rel in rc.relative.quantiles.items():
                q = _check_quantile(source, (*at, "relative", key), key, s)
                rules.append(
                    _rule(
                        f"{rc_name}.relative.{key}",
                        route,
                        s,
                        kind="latency",
                        quantile=q,
                        **_relative(rel),
                    )
                )
            if rc.relative.shape is not None:
                rules.append(_shape(f"{rc_name}.relative.shape", route, s, rc.relative.shape))
            if rc.relative.error_rate is not None:
                rules.append(
                    _rule(
                        f"{rc_name}.relative.error_rate",
                        route,
                        s,
                        kind="error_rate",
                        **_relative(rc.relative.error_rate),
                    )
                )
    if rules and not any(r.required for r in rules):
        raise source.error(
            ("slos",), "every SLO is required: false; keep at least one required SLO (e.g. all)"
        )
    return tuple(rules)


# The policy key of each part of a rule's name after its route class (``compile_rules``).
_KEYS = {"error_rate": "errorRate", "relative": "relative", "shape": "shape"}


def rule_location(rule: RuleSpec) -> tuple[Any, ...]:
    """Where ``compile_rules`` found ``rule`` in its policy (``slos.wallet.latency.p95``)."""
    route = rule.slo.route_class or ALL_ROUTES
    parts = rule.name.removeprefix(f"{route}.").split(".")
    if parts[0] not in _KEYS:  # a quantile bound: latency.pXX
        return ("slos", route, "latency", *parts)
    return ("slos", route, *(_KEYS.get(p, p) for p in parts))


def _analyze_step(
    i: int, step: Any, pipeline: Pipeline, policy: Policy, source: Source
) -> StepSpec:
    duration = step.duration or pipeline.analysis.window or policy.analysis.window
    interval = step.interval or pipeline.analysis.interval or policy.analysis.interval
    if duration < interval:
        if step.duration:
            loc: tuple[Any, ...] = ("steps", i, "analyze", "duration")
        elif pipeline.analysis.window:
            loc = ("analysis", "window")
        elif step.interval:
            loc = ("steps", i, "analyze", "interval")
        else:
            loc = ("analysis", "interval")
        raise source.error(
            loc,
            f"step {i + 1} would analyze for {format_duration(duration)}, shorter than its "
            f"check interval {format_duration(interval)}",
        )
    if interval < 1:
        where = ("steps", i, "analyze", "interval") if step.interval else ("analysis", "interval")
        raise source.error(where, "the check interval must be at least 1s")
    return StepSpec(kind="analyze", duration_s=duration, interval_s=interval)


def _load_hook(i: int, hook: LoadHook, source: Source) -> LoadHookSpec:
    loc = ("hooks", "duringAnalysis", i, "load")
    at = source.error(loc, "")
    where = f"{at.path}:{at.line}" if at.line else at.path
    script = None
    if hook.script is not None:
        path = Path(hook.script)
        script = str(path if path.is_absolute() else Path(source.path).parent / path)
        if not Path(script).is_file():
            raise source.error((*loc, "script"), f"no k6 script at {os.path.normpath(script)}")
        script = os.path.abspath(script)
    return LoadHookSpec(
        profile=hook.profile,
        rps=hook.rps,
        duration_s=hook.duration,
        url=hook.url,
        ws_players=hook.ws_players,
        matchmaking=hook.matchmaking,
        allow_remote=hook.allow_remote,
        runner=hook.runner,
        script=script,
        where=where,
        key=at.field or f"hooks.duringAnalysis[{i}].load",
    )


def build_plan(
    pipeline: Pipeline, policy: Policy, rules: tuple[RuleSpec, ...], source: Source
) -> Plan:
    steps: list[StepSpec] = []
    for i, step in enumerate(pipeline.steps):
        if step.set_weight is not None:
            steps.append(StepSpec(kind="set_weight", weight=step.set_weight))
        elif step.analyze is not None:
            steps.append(_analyze_step(i, step.analyze, pipeline, policy, source))
        elif step.pause is not None:
            steps.append(StepSpec(kind="pause", duration_s=step.pause.duration))
        else:
            steps.append(StepSpec(kind="promote"))
    hooks = tuple(
        _load_hook(i, h.load, source) for i, h in enumerate(pipeline.hooks.during_analysis)
    )
    return Plan(
        service=pipeline.service,
        steps=tuple(steps),
        rules=rules,
        on_failure=pipeline.on_failure,
        load_hooks=hooks,
        health_timeout_s=pipeline.platform.health_timeout,
    )
