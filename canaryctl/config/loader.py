"""Load and validate pipeline and policy files into what the engine runs."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from canaryctl.config.compile import build_plan, compile_rules
from canaryctl.config.diagnostics import Source, validate
from canaryctl.config.environments import OutputsSource, resolve_outputs
from canaryctl.config.overrides import apply_sets
from canaryctl.config.pipeline import Pipeline
from canaryctl.config.policy import Policy
from canaryctl.config.preflight import check_source
from canaryctl.config.yamlload import LineDict, load_yaml
from canaryctl.errors import ConfigError
from canaryctl.rollout.plan import Plan, RuleSpec

__all__ = [
    "LoadedPipeline",
    "LoadedPolicy",
    "load_any",
    "load_pipeline",
    "load_policy",
    "pipeline_from_snapshot",
]


@dataclass(frozen=True)
class LoadedPolicy:
    path: str
    policy: Policy
    rules: tuple[RuleSpec, ...]
    source: Source | None = field(default=None, repr=False, compare=False)  # for locations


@dataclass(frozen=True)
class LoadedPipeline:
    path: str
    pipeline: Pipeline
    policy: LoadedPolicy
    plan: Plan
    sets: tuple[str, ...] = ()
    # What the pipeline may not do as its author expects (an SLO its source cannot answer
    # that does not hold a release up): ``file:line: field: problem`` lines for the CLI.
    warnings: tuple[str, ...] = ()

    def snapshot(self) -> dict[str, Any]:
        """What the deployment record keeps so ``resume`` does not depend on the files."""
        return {
            "pipeline_path": self.path,
            "policy_path": self.policy.path,
            "sets": list(self.sets),
            "pipeline": self.pipeline.model_dump(mode="json", by_alias=True, exclude_none=True),
            "policy": self.policy.policy.model_dump(mode="json", by_alias=True, exclude_none=True),
        }


def _expect_kind(data: LineDict, source: Source, kind: str) -> None:
    found = data.get("kind")
    if isinstance(found, str) and found in ("Pipeline", "Policy") and found != kind:
        raise source.error(("kind",), f"this is a {found} file; expected a {kind}")


def load_policy(path: str | os.PathLike[str]) -> LoadedPolicy:
    name = str(path)
    data = load_yaml(name, "policy file")
    source = Source(name, data)
    _expect_kind(data, source, "Policy")
    policy = validate(Policy, source)
    return LoadedPolicy(name, policy, compile_rules(policy, source), source)


def _policy_path(pipeline_path: str, pipeline: Pipeline) -> str:
    raw = Path(pipeline.policy)
    joined = raw if raw.is_absolute() else Path(pipeline_path).parent / raw
    return os.path.normpath(joined)


def load_pipeline(
    path: str | os.PathLike[str],
    sets: Iterable[str] = (),
    *,
    environments: str | os.PathLike[str] | None = None,
    outputs: OutputsSource | None = None,
) -> LoadedPipeline:
    """Load a pipeline, apply ``--set`` overrides, resolve environment outputs
    (``${env.NAME.outputs.KEY}``, ``fromEnvironment: NAME``: from ``outputs`` when given, else
    by running Terraform in the environments under ``environments``, else
    ``$CANARYCTL_ENVIRONMENTS``, else ``terraform/environments``), validate the pipeline and
    its policy, build the plan.

    Every problem is a ``ConfigError`` naming file:line (or the ``--set`` flag) and field."""
    name = str(path)
    sets = tuple(sets)
    data = load_yaml(name, "pipeline file")
    source = Source(name, data, apply_sets(data, sets))
    _expect_kind(data, source, "Pipeline")
    resolve_outputs(source, Path(environments) if environments is not None else None, outputs)
    pipeline = validate(Pipeline, source)
    policy_path = _policy_path(name, pipeline)
    if not Path(policy_path).is_file():
        raise source.error(("policy",), f"policy file {policy_path} not found")
    policy = load_policy(policy_path)
    plan = build_plan(pipeline, policy.policy, policy.rules, source)
    assert policy.source is not None
    warnings = check_source(pipeline, source, plan.rules, policy.source)
    return LoadedPipeline(name, pipeline, policy, plan, sets, warnings)


def load_any(path: str) -> LoadedPipeline | LoadedPolicy:
    """A pipeline or a policy, by its ``kind`` (for ``policy validate``)."""
    data = load_yaml(path, "file")
    if data.get("kind") == "Pipeline":
        return load_pipeline(path)
    if data.get("kind") == "Policy":
        return load_policy(path)
    line = data.key_lines.get("kind", data.line)
    raise ConfigError(path, line, "kind", "must be Pipeline or Policy")


def pipeline_from_snapshot(snapshot: dict[str, Any]) -> Pipeline:
    """The validated pipeline stored in a deployment record."""
    return Pipeline.model_validate(snapshot["pipeline"])
