"""What `terraform validate` would catch in wiring, checked statically: no AWS provider can
be downloaded here, so validate cannot run on the AWS environments. Every module argument
must be a declared variable, every required variable must be given, and every
``module.X.Y``, ``var.X`` and ``local.X`` reference must exist."""

from __future__ import annotations

import posixpath
import re
from pathlib import Path
from typing import Any

import pytest

META_ARGS = {"source", "count", "for_each", "providers", "depends_on", "version"}
_REF = re.compile(r"\b(var|local|module)\.([A-Za-z0-9_]+)(?:\.([A-Za-z0-9_]+))?")


def _dirs(root: Path, group: str) -> list[str]:
    return sorted(p.name for p in (root / "terraform" / group).iterdir() if p.is_dir())


REPO = Path(__file__).resolve().parents[3]
MODULES = _dirs(REPO, "modules")
ENVIRONMENTS = _dirs(REPO, "environments")


_COMMENT = re.compile(r"(?m)^\s*#.*$")
# A moved block names addresses of the state, not references (old ones no longer exist);
# tests/integration/terraform/test_env_state_moves.py checks them with real Terraform.
_MOVED = re.compile(r"(?ms)^moved \{.*?^\}")


def _refs(files: dict[str, str]) -> set[tuple[str, str, str | None]]:
    text = "\n".join(_MOVED.sub("", _COMMENT.sub("", t)) for t in files.values())
    return {(m.group(1), m.group(2), m.group(3)) for m in _REF.finditer(text)}


@pytest.mark.parametrize(
    "name", [f"modules/{m}" for m in MODULES] + [f"environments/{e}" for e in ENVIRONMENTS]
)
def test_references_are_declared(name: str, tf_sources: Any, hcl_module: Any) -> None:
    files = tf_sources(name)
    m = hcl_module(files)
    missing = []
    for kind, ref, _ in _refs(files):
        if kind == "var" and ref not in m.variables:
            missing.append(f"var.{ref}")
        if kind == "local" and ref not in m.locals:
            missing.append(f"local.{ref}")
        if kind == "module" and ref not in m.modules:
            missing.append(f"module.{ref}")
    assert not missing, f"{name}: undeclared {sorted(set(missing))}"


def _source(rel: str, call: dict[str, Any]) -> str:
    """A module call's ``source``, relative to terraform/ (``modules/kms``)."""
    return posixpath.normpath(posixpath.join(rel, call["source"]))


def wiring_problems(rel: str, files: dict[str, str], tf_sources: Any, hcl_module: Any) -> list[str]:
    m = hcl_module(files)
    problems = []
    for call, args in m.modules.items():
        source = _source(rel, args)
        target = hcl_module(tf_sources(source))
        given = set(args) - META_ARGS
        if unknown := given - set(target.variables):
            problems.append(f"module.{call}: unknown arguments {sorted(unknown)}")
        required = {k for k, v in target.variables.items() if "default" not in v}
        if absent := required - given:
            problems.append(f"module.{call}: missing required {sorted(absent)}")
    for kind, call, output in _refs(files):
        if kind == "module" and output is not None and call in m.modules:
            source = _source(rel, m.modules[call])
            if output not in hcl_module(tf_sources(source)).outputs:
                problems.append(f"module.{call}.{output} is not an output of {source}")
    return problems


# Every directory that calls modules: the AWS environments and the module composing them.
CALLERS = ["environments/staging", "environments/production", "modules/service_environment"]


@pytest.mark.parametrize("rel", CALLERS)
def test_module_calls_match_the_modules(rel: str, tf_sources: Any, hcl_module: Any) -> None:
    files = tf_sources(rel)
    calls = hcl_module(files).modules.values()
    assert calls and all(_source(rel, a).startswith("modules/") for a in calls)
    assert wiring_problems(rel, files, tf_sources, hcl_module) == []


@pytest.mark.parametrize(
    ("rel", "old", "new", "needle"),
    [
        (
            "modules/service_environment",
            "  kms_key_arn        = module.kms.key_arn\n",
            "",
            "module.network: missing required",
        ),
        (
            "modules/service_environment",
            "single_nat_gateway = var.single_nat_gateway",
            "single_nat_gw = var.single_nat_gateway",
            "unknown arguments ['single_nat_gw']",
        ),
        (
            "modules/service_environment",
            "module.alb.listener_arn",
            "module.alb.listener",
            "module.alb.listener is not an output",
        ),
        (
            "environments/staging",
            "  redis_replicas               = 1\n",
            "",
            "module.environment: missing required ['redis_replicas']",
        ),
        (
            "environments/production",
            "module.environment.canaryctl_ecs",
            "module.environment.canaryctl",
            "module.environment.canaryctl is not an output",
        ),
    ],
)
def test_broken_wiring_is_caught(
    rel: str, old: str, new: str, needle: str, tf_sources: Any, hcl_module: Any
) -> None:
    files = tf_sources(rel)
    assert any(old in text for text in files.values()), f"mutation target not in {rel}: {old!r}"
    files = {k: v.replace(old, new, 1) for k, v in files.items()}
    assert any(needle in p for p in wiring_problems(rel, files, tf_sources, hcl_module))


@pytest.mark.parametrize("env", ["staging", "production"])
def test_example_tfvars_set_every_required_variable(
    env: str, repo_root: Path, tf_sources: Any, hcl_module: Any
) -> None:
    m = hcl_module(tf_sources(f"environments/{env}"))
    example = (
        repo_root / "terraform" / "environments" / env / "terraform.tfvars.example"
    ).read_text()
    given = set(re.findall(r"(?m)^([a-z_]+)\s*=", example))
    required = {k for k, v in m.variables.items() if "default" not in v}
    assert required <= given
    assert given <= set(m.variables)
