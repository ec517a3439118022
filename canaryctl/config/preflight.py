"""Checks of a pipeline against what its metric source can answer, before anything runs.

A required SLO on a route class (anything but ``all``) needs a source that answers route
classes: CloudWatch's ALB metrics are per target group, so such an SLO would answer NoData at
every check and its missing-data rule would roll every release back. That pairing is refused
here, naming the SLO (file:line in the policy) and the source. A route-class SLO with
``required: false`` is never judged on such a source either; it only earns a warning, since
it would not hold a release up.

What a source can answer comes from its class (``canaryctl.metrics.source_capabilities``),
from the config alone: no network call, nothing probed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from canaryctl.config.compile import rule_location
from canaryctl.config.diagnostics import Source
from canaryctl.config.yamlload import line_of

if TYPE_CHECKING:
    from canaryctl.config.pipeline import Pipeline
    from canaryctl.rollout.plan import RuleSpec

__all__ = ["check_source"]


def _where(source: Source, loc: tuple[Any, ...]) -> str:
    line = line_of(source.data, loc)
    return f"{source.path}:{line}" if line else source.path


def check_source(
    pipeline: Pipeline,
    pipeline_source: Source,
    rules: tuple[RuleSpec, ...],
    policy_source: Source,
) -> tuple[str, ...]:
    """Refuse (``ConfigError`` at the SLO in the policy) a required route-class SLO the
    pipeline's metric source cannot answer; return one warning per route class of optional
    SLOs it cannot answer."""
    from canaryctl.metrics import source_capabilities

    can = source_capabilities(pipeline.metrics)
    if can.route_classes:
        return ()
    kind = pipeline.metrics.type
    named = f"the pipeline's metrics source {kind} ({_where(pipeline_source, ('metrics', 'type'))})"
    routed = [r for r in rules if r.slo.route_class is not None]
    required = [r for r in routed if r.required]
    if required:
        first = required[0]
        more = len(required) - 1
        also = f" (and {more} more required route-class SLO{'s' if more > 1 else ''})"
        raise policy_source.error(
            rule_location(first),
            f"required SLO {first.name} is judged on route class {first.slo.route_class!r}, "
            f"which {named} cannot answer per route class; judge it under `all`, mark it "
            f"`required: false`, or use a source with route classes (prometheus)"
            f"{also if more else ''}",
        )
    warnings: list[str] = []
    for route in dict.fromkeys(r.slo.route_class for r in routed):
        names = [r.name for r in routed if r.slo.route_class == route]
        where = _where(policy_source, ("slos", route))
        warnings.append(
            f"{where}: slos.{route}: {', '.join(names)} (required: false) will never be "
            f"judged: {named} cannot answer route class {route!r}"
        )
    return tuple(warnings)
