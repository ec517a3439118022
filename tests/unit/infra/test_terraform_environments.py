"""The AWS environments: thin roots (backend, provider, variables, one module call, outputs)
over ``terraform/modules/service_environment``, which composes the platform.

As in test_terraform_structure.py, each property is a check returning the problems it finds;
it runs on the real files (no problem allowed) and on copies broken the way a careless edit
would break them (the problem must be reported), so these tests cannot pass vacuously. A
property may span both directories (an environment's value reaches a module through the
wrapper), so a check sees both, and a mutation names the directory it breaks.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

ENVS = ["staging", "production"]
WRAPPER = "modules/service_environment"
CALL = "environment"  # the one module call of an AWS environment
COMPONENTS = {
    "kms",
    "network",
    "alb",
    "ecs_service",
    "data",
    "observability",
    "state_bucket",
    "github_oidc",
}
# What pipelines, the deploy workflow and docs/aws.md read (`canaryctl env outputs ENV`).
PIPELINE_OUTPUTS = {
    "cluster",
    "service",
    "listener_arn",
    "blue_target_group_arn",
    "green_target_group_arn",
    "state_bucket",
    "deploy_role_arn",
    "region",
    "canaryctl_ecs",
    "amp_query_url",  # a prometheus pipeline's metrics.url on Amazon Managed Prometheus
}
_VAR = re.compile(r"^\$\{var\.(\w+)\}$")
_VARS_IN = re.compile(r"\bvar\.(\w+)")


@dataclass
class Layout:
    env: str
    root: Any  # the environment directory, parsed
    wrapper: Any  # modules/service_environment, parsed

    def effective(self, component: str, arg: str) -> Any:
        """The value ``component``'s ``arg`` gets in this environment: the wrapper's
        expression, through the environment's module call, to a variable's default."""
        value = self.wrapper.modules.get(component, {}).get(arg, "<not set>")
        if match := _VAR.match(str(value)):
            value = self.root.modules.get(CALL, {}).get(match.group(1), "<not passed>")
        if match := _VAR.match(str(value)):
            value = self.root.variables.get(match.group(1), {}).get("default", "<no default>")
        return value


def _one(blocks: Any) -> dict[str, Any]:
    """A nested block (python-hcl2 gives a list of one dict) or {}."""
    if isinstance(blocks, list):
        return blocks[0] if blocks else {}
    return blocks or {}


# --- the checks ---------------------------------------------------------------------------


def check_outputs(lay: Layout) -> list[str]:
    problems = []
    if missing := PIPELINE_OUTPUTS - set(lay.root.outputs):
        problems.append(f"outputs pipelines read are missing: {sorted(missing)}")
    if dropped := set(lay.wrapper.outputs) - set(lay.root.outputs):
        problems.append(f"outputs of the environment module not passed through: {sorted(dropped)}")
    for name, block in lay.root.outputs.items():
        if block.get("value") != f"${{module.{CALL}.{name}}}":
            problems.append(f"output {name} is not module.{CALL}.{name}: {block.get('value')}")
    return problems


def check_backend(lay: Layout) -> list[str]:
    s3 = _one(_one(lay.root.terraform).get("backend")).get("s3", {})
    problems = []
    if s3.get("use_lockfile") is not True or s3.get("encrypt") is not True:
        problems.append("the S3 backend must encrypt and lock (use_lockfile)")
    if s3.get("key") != f"canaryctl/{lay.env}/terraform.tfstate":
        problems.append(f"state key {s3.get('key')!r} is not this environment's")
    return problems


def check_composition(lay: Layout) -> list[str]:
    problems = []
    sources = {name: call.get("source") for name, call in lay.root.modules.items()}
    if sources != {CALL: f"../../{WRAPPER}"}:
        problems.append(f"the environment must call only ../../{WRAPPER}, got {sources}")
    if missing := COMPONENTS - set(lay.wrapper.modules):
        problems.append(f"the environment module lacks {sorted(missing)}")
    data = lay.wrapper.modules.get("data", {})
    if data.get("private_subnet_ids") != "${module.network.private_subnet_ids}":
        problems.append("the data stores must sit in the network's private subnets")
    if data.get("client_security_group_ids") != ["${module.ecs_service.security_group_id}"]:
        problems.append("only the service's security group may reach the data stores")
    if lay.effective("github_oidc", "github_environments") != [lay.env]:
        problems.append(f"only the GitHub environment {lay.env!r} may deploy by default")
    used = set(_VARS_IN.findall(str(lay.root.modules.get(CALL, {}))))
    used |= set(_VARS_IN.findall(str(lay.root.providers)))
    if ignored := set(lay.root.variables) - used:
        problems.append(f"variables that change nothing (not passed on): {sorted(ignored)}")
    return problems


def check_production_protected(lay: Layout) -> list[str]:
    wanted = {
        ("data", "deletion_protection"): True,
        ("data", "multi_az"): True,
        ("alb", "deletion_protection"): True,
        ("state_bucket", "force_destroy"): False,
    }
    return [
        f"module.{component}.{arg} is {lay.effective(component, arg)!r}, must be {value!r}"
        for (component, arg), value in wanted.items()
        if lay.effective(component, arg) is not value
    ]


def check_outputs_readable(lay: Layout) -> list[str]:
    """``fromEnvironment`` in the workflow reads the outputs with the deploy role, which may
    read the state object only when the environment names its bucket: no silent null."""
    variable = lay.root.variables.get("terraform_state_bucket", {})
    if "default" in variable:
        return ["terraform_state_bucket must be stated (no default), or fromEnvironment fails"]
    oidc = str(lay.wrapper.modules.get("github_oidc", {}).get("terraform_state", ""))
    if "var.terraform_state_bucket" not in oidc:
        return ["the deploy role must get read access to the state bucket"]
    return []


def check_drain_and_grace(lay: Layout) -> list[str]:
    """The WebSocket drain and the /readyz grace period reach the modules, with their
    documented defaults, and canaryctl's drainDelay comes with the deregistration delay."""
    problems = []
    for component, arg, lowest in (
        ("alb", "deregistration_delay", 300),
        ("ecs_service", "health_check_grace_period_seconds", 60),
    ):
        value = lay.effective(component, arg)
        if not isinstance(value, int) or value < lowest:
            problems.append(f"module.{component}.{arg} is {value!r}, must be >= {lowest}")
    ecs = lay.wrapper.outputs.get("canaryctl_ecs", {}).get("value", {})
    for key in ("drainDelay", "deregistrationDelay"):
        if ecs.get(key) != "${module.alb.deregistration_delay}":
            problems.append(f"canaryctl_ecs.{key} must be the target groups' deregistration delay")
    return problems


CHECKS: dict[str, Callable[[Layout], list[str]]] = {
    "outputs": check_outputs,
    "outputs readable": check_outputs_readable,
    "drain and grace": check_drain_and_grace,
    "backend": check_backend,
    "composition": check_composition,
}


@pytest.fixture(scope="module")
def layout(tf_sources: Any, hcl_module: Any) -> Callable[..., Layout]:
    """``layout(env, edit=None)``: the parsed environment and wrapper; ``edit`` is a
    ``(directory, file, old, new)`` replacement applied to a copy of the sources first."""

    def make(env: str, edit: tuple[str, str, str, str] | None = None) -> Layout:
        sources = {rel: tf_sources(rel) for rel in (f"environments/{env}", WRAPPER)}
        if edit is not None:
            rel, file, old, new = edit
            assert old in sources[rel][file], f"mutation target not in {rel}/{file}: {old!r}"
            sources[rel][file] = sources[rel][file].replace(old, new, 1)
        return Layout(env, hcl_module(sources[f"environments/{env}"]), hcl_module(sources[WRAPPER]))

    return make


# --- the real environments pass -----------------------------------------------------------


@pytest.mark.parametrize("env", ENVS)
@pytest.mark.parametrize("case", sorted(CHECKS))
def test_environment_has_the_property(case: str, env: str, layout: Any) -> None:
    assert CHECKS[case](layout(env)) == []


def test_production_is_protected(layout: Any) -> None:
    assert check_production_protected(layout("production")) == []


# --- broken copies are caught -------------------------------------------------------------

STAGING, PRODUCTION = "environments/staging", "environments/production"
MUTATIONS = [
    ("outputs", "staging", (STAGING, "outputs.tf", 'output "state_bucket"', 'output "bucket"')),
    (
        "outputs readable",
        "production",
        (
            PRODUCTION,
            "variables.tf",
            'to not allow it."',
            'to not allow it."\n  default     = null',
        ),
    ),
    (
        "drain and grace",
        "staging",
        (STAGING, "variables.tf", "default     = 300", "default     = 30"),
    ),
    (
        "drain and grace",
        "production",
        (PRODUCTION, "variables.tf", "default     = 120", "default     = 0"),
    ),
    (
        "drain and grace",
        "staging",
        (
            WRAPPER,
            "outputs.tf",
            "drainDelay          = module.alb",
            "drainDelay          = 30 + module.alb",
        ),
    ),
    (
        "outputs",
        "production",
        (PRODUCTION, "outputs.tf", "module.environment.cluster }", "module.environment.service }"),
    ),
    ("outputs", "staging", (WRAPPER, "outputs.tf", 'output "log_group_name"', 'output "logs"')),
    ("backend", "staging", (STAGING, "versions.tf", "use_lockfile = true", "use_lockfile = false")),
    (
        "backend",
        "production",
        (PRODUCTION, "versions.tf", "production/terraform", "staging/terraform"),
    ),
    (
        "composition",
        "staging",
        (STAGING, "main.tf", '"../../modules/service_environment"', '"../../modules/alb"'),
    ),
    (
        "composition",
        "staging",
        (
            WRAPPER,
            "main.tf",
            "module.network.private_subnet_ids",
            "module.network.public_subnet_ids",
        ),
    ),
    ("composition", "staging", (STAGING, "variables.tf", '["staging"]', '["production"]')),
    (
        "composition",
        "production",
        (WRAPPER, "main.tf", "= var.github_environments", '= ["staging"]'),
    ),
    (
        "composition",
        "staging",
        (STAGING, "main.tf", "alb_deletion_protection = var.alb_deletion_protection", ""),
    ),
]
PROTECTION_MUTATIONS = [
    (
        PRODUCTION,
        "main.tf",
        "database_deletion_protection = true",
        "database_deletion_protection = false",
    ),
    (
        PRODUCTION,
        "main.tf",
        "multi_az                     = true",
        "multi_az                     = false",
    ),
    (
        PRODUCTION,
        "main.tf",
        "alb_deletion_protection      = true",
        "alb_deletion_protection      = var.x",
    ),
    (
        WRAPPER,
        "main.tf",
        "force_destroy     = var.state_bucket_force_destroy",
        "force_destroy     = true",
    ),
    (
        WRAPPER,
        "main.tf",
        "deletion_protection = var.alb_deletion_protection",
        "deletion_protection = false",
    ),
]


@pytest.mark.parametrize(("case", "env", "edit"), MUTATIONS)
def test_broken_environment_is_caught(case: str, env: str, edit: Any, layout: Any) -> None:
    assert CHECKS[case](layout(env, edit)), f"{case}: {edit} went unnoticed"


@pytest.mark.parametrize("edit", PROTECTION_MUTATIONS)
def test_unprotected_production_is_caught(edit: Any, layout: Any) -> None:
    assert check_production_protected(layout("production", edit)), f"{edit} went unnoticed"
