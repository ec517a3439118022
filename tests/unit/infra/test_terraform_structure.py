"""The properties of the Terraform modules that canaryctl and the security review rely on.

Each property is a check returning the problems it finds. Every check runs on the real
module (no problem allowed) and on a copy broken the way a careless edit would break it
(the problem must be reported), so these tests cannot pass vacuously.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest

Check = Callable[[Any], list[str]]


def _one(blocks: Any) -> dict[str, Any]:
    """A nested block (python-hcl2 gives a list of one dict) or {}."""
    if isinstance(blocks, list):
        return blocks[0] if blocks else {}
    return blocks or {}


# --- the checks ---------------------------------------------------------------------------


def check_weighted_listener(m: Any) -> list[str]:
    problems = []
    groups = m.resources.get("aws_lb_target_group", {})
    tg_keys = set(_tg_for_each_keys(m, groups))
    if tg_keys != {"blue", "green"}:
        problems.append(f"target groups should be blue and green, got {sorted(tg_keys)}")
    listeners = m.resources.get("aws_lb_listener", {})
    https = listeners.get("https", {})
    if https.get("protocol") != "HTTPS":
        problems.append("listener is not HTTPS")
    action = _one(https.get("default_action"))
    forward = _one(action.get("forward"))
    if action.get("type") != "forward":
        problems.append("default action is not forward")
    targets = forward.get("target_group", [])
    arns = [t.get("arn", "") for t in targets]
    if len(targets) != 2 or len(set(arns)) != 2:
        problems.append(f"forward action needs two distinct target groups, got {arns}")
    if not all("aws_lb_target_group.this" in a for a in arns):
        problems.append("forward action must point at the module's blue/green target groups")
    if sum(int(t.get("weight", -1)) for t in targets) != 100:
        problems.append("initial weights must add up to 100")
    ignored = _one(https.get("lifecycle")).get("ignore_changes", [])
    if "default_action" not in ignored:
        problems.append("lifecycle.ignore_changes must include default_action (canaryctl owns it)")
    return problems


def _tg_for_each_keys(m: Any, groups: dict[str, Any]) -> list[str]:
    this = groups.get("this", {})
    ref = str(this.get("for_each", ""))
    if ref == "${local.target_groups}":
        return list(m.locals.get("target_groups", {}))
    return list(groups)


def check_external_controller(m: Any) -> list[str]:
    service = m.resources.get("aws_ecs_service", {}).get("this", {})
    problems = []
    if _one(service.get("deployment_controller")).get("type") != "EXTERNAL":
        problems.append("ECS service must use the EXTERNAL deployment controller")
    for key in ("task_definition", "load_balancer", "network_configuration"):
        if key in service:
            problems.append(f"{key} belongs to canaryctl's task sets, not the EXTERNAL service")
    # The service, the task definition and every task set run on Fargate (moto and the
    # tests create the service the same way); no capacity provider strategy beside it.
    task = m.resources.get("aws_ecs_task_definition", {}).get("this", {})
    launch = (
        m.locals.get("launch_type")
        if service.get("launch_type") == "${local.launch_type}"
        else None
    )
    if launch != "FARGATE" or "capacity_provider_strategy" in service:
        problems.append("the service's launch type must be FARGATE (local.launch_type)")
    if task.get("requires_compatibilities") != [launch]:
        problems.append("the task definition must require the service's launch type")
    if m.outputs.get("launch_type", {}).get("value") != "${local.launch_type}":
        problems.append("output launch_type (the first task set's) must be local.launch_type")
    grace = m.variables.get("health_check_grace_period_seconds", {})
    if (
        service.get("health_check_grace_period_seconds")
        != ("${var.health_check_grace_period_seconds}")
        or not 60 <= int(grace.get("default", 0)) <= 600
    ):
        problems.append("a health-check grace period (60-600 s by default) for /readyz")
    if "desired_count" not in _one(service.get("lifecycle")).get("ignore_changes", []):
        problems.append("desired_count must be ignored: autoscaling owns it")
    if "aws_appautoscaling_target" not in m.resources:
        problems.append("service has no autoscaling target")
    return problems


def check_access_log(m: Any) -> list[str]:
    """The task definition turns the backend's access log on and ships it with awslogs: the
    observability module's metric filters read nothing otherwise."""
    problems = []
    if m.variables.get("access_log", {}).get("default") != "stdout":
        problems.append("access_log must default to stdout")
    if "{ACCESS_LOG = var.access_log}" not in str(m.locals.get("environment", "")):
        problems.append("the container environment must set ACCESS_LOG from var.access_log")
    task = m.resources.get("aws_ecs_task_definition", {}).get("this", {})
    definitions = str(task.get("container_definitions", ""))
    if "local.environment" not in definitions or 'logDriver = "awslogs"' not in definitions:
        problems.append("the container must take local.environment and log with awslogs")
    return problems


def check_drain(m: Any) -> list[str]:
    """Target groups drain at least as long as a quiet WebSocket session lives (the ALB's idle
    timeout), and say how long so that canaryctl's drainDelay can be checked against it."""
    problems = []
    groups = m.resources.get("aws_lb_target_group", {}).get("this", {})
    delay = m.variables.get("deregistration_delay", {}).get("default", 0)
    idle = m.variables.get("idle_timeout", {}).get("default", 0)
    if groups.get("deregistration_delay") != "${var.deregistration_delay}" or delay < idle:
        problems.append(f"deregistration_delay ({delay}) shorter than the idle timeout ({idle})")
    if m.outputs.get("deregistration_delay", {}).get("value") != "${var.deregistration_delay}":
        problems.append("output deregistration_delay is missing")
    return problems


def check_postgres(m: Any) -> list[str]:
    db = m.resources.get("aws_db_instance", {}).get("this", {})
    problems = []
    if db.get("storage_encrypted") is not True:
        problems.append("RDS storage_encrypted must be true")
    if db.get("publicly_accessible") is not False:
        problems.append("RDS publicly_accessible must be false")
    if db.get("engine") != "postgres":
        problems.append("RDS engine must be postgres")
    subnet_group = db.get("db_subnet_group_name", "")
    group = m.resources.get("aws_db_subnet_group", {}).get("this", {})
    if "aws_db_subnet_group.this" not in subnet_group or group.get("subnet_ids") != (
        "${var.private_subnet_ids}"
    ):
        problems.append("RDS must sit in a subnet group of the private subnets")
    if db.get("manage_master_user_password") is not True or "password" in db:
        problems.append("the master password must be managed by RDS, never in Terraform")
    return problems


def check_redis(m: Any) -> list[str]:
    rg = m.resources.get("aws_elasticache_replication_group", {}).get("this", {})
    problems = []
    if rg.get("transit_encryption_enabled") is not True:
        problems.append("ElastiCache transit_encryption_enabled must be true")
    if rg.get("at_rest_encryption_enabled") is not True:
        problems.append("ElastiCache at_rest_encryption_enabled must be true")
    group = m.resources.get("aws_elasticache_subnet_group", {}).get("this", {})
    if (
        "aws_elasticache_subnet_group.this" not in str(rg.get("subnet_group_name"))
        or group.get("subnet_ids") != "${var.private_subnet_ids}"
    ):
        problems.append("ElastiCache must sit in a subnet group of the private subnets")
    return problems


def check_oidc_trust(m: Any) -> list[str]:
    trust = m.data.get("aws_iam_policy_document", {}).get("trust", {})
    statements = trust.get("statement", [])
    problems = []
    if len(statements) != 1:
        return [f"trust policy must have exactly one statement, got {len(statements)}"]
    st = statements[0]
    if st.get("effect", "Allow") != "Allow" or st.get("actions") != [
        "sts:AssumeRoleWithWebIdentity"
    ]:
        problems.append("trust must allow only sts:AssumeRoleWithWebIdentity")
    conditions = {c.get("variable"): c for c in st.get("condition", [])}
    aud = conditions.get("token.actions.githubusercontent.com:aud", {})
    if aud.get("test") != "StringEquals" or aud.get("values") != ["sts.amazonaws.com"]:
        problems.append("aud must be StringEquals sts.amazonaws.com")
    sub = conditions.get("token.actions.githubusercontent.com:sub", {})
    if sub.get("test") != "StringEquals":
        problems.append("sub must be compared with StringEquals (no wildcards)")
    subjects = str(m.locals.get("subjects", "")) if sub.get("values") == "${local.subjects}" else ""
    pinned = re.search(r"repo:\$\{var\.github_repository\}:environment:\$\{\w+\}", subjects)
    if not pinned or "*" in subjects:
        problems.append("sub must be pinned to repo:OWNER/REPO:environment:ENV")
    return problems


_RESTRICTABLE_WITH_STAR = re.compile(
    r"^(ecs|elasticloadbalancing|s3|iam|kms):(Create|Update|Delete|Modify|Put|Pass|Get)"
)


def check_deploy_policy(m: Any) -> list[str]:
    doc = m.data.get("aws_iam_policy_document", {}).get("deploy", {})
    problems = []
    statements = list(doc.get("statement", []))
    for dyn in doc.get("dynamic", []):
        statements.append(_one(dyn.get("statement", {}).get("content")))
    actions: set[str] = set()
    for st in statements:
        acts = st.get("actions", [])
        actions.update(acts)
        if any(a.endswith("*") for a in acts):
            problems.append(f"wildcard action in {st.get('sid')}: {acts}")
        if st.get("resources") == ["*"] and st.get("condition") is None:
            bad = [a for a in acts if _RESTRICTABLE_WITH_STAR.match(a)]
            if bad:
                problems.append(f"{st.get('sid')}: {bad} on every resource")
        if "iam:PassRole" in acts and st.get("resources") != "${var.pass_role_arns}":
            problems.append("iam:PassRole must be limited to the task roles")
        create_only = [c.get("variable") for c in st.get("condition", [])] == ["ecs:CreateAction"]
        if "ecs:TagResource" in acts and not create_only:
            problems.append("ecs:TagResource must be limited to tagging on create")
    wanted = {
        "ecs:CreateTaskSet",
        "ecs:UpdateTaskSet",
        "ecs:DeleteTaskSet",
        "ecs:UpdateServicePrimaryTaskSet",
        "ecs:RegisterTaskDefinition",
        "ecs:TagResource",
        "elasticloadbalancing:ModifyListener",
        "elasticloadbalancing:ModifyRule",
        "cloudwatch:GetMetricData",
        "s3:PutObject",
        "iam:PassRole",
    }
    if missing := wanted - actions:
        problems.append(f"policy lacks what canaryctl calls: {sorted(missing)}")
    return problems


def check_metrics_collector(m: Any) -> list[str]:
    """With a workspace, each task runs an ADOT collector fed by ../adot_config (scraping the
    backend's port) and the task role may RemoteWrite to that workspace only; without, none."""
    problems = []
    call = m.modules.get("collector_config", {})
    if call.get("source") != "../adot_config" or "var.metrics_collector == null" not in str(
        call.get("count")
    ):
        problems.append("collector_config must be ../adot_config, only with var.metrics_collector")
    if call.get("port") != "${var.container_port}" or call.get("job_name") != "${var.service_name}":
        problems.append("the collector must scrape the backend's port, as job service_name")
    containers = str(m.locals.get("collector_containers", ""))
    if "for c in module.collector_config" not in containers or (
        '{name = "AOT_CONFIG_CONTENT", value = c.yaml}' not in containers
    ):
        problems.append("the collector container must take AOT_CONFIG_CONTENT from adot_config")
    if "essential = false" not in containers:
        problems.append("a collector outage must not stop the backend (essential = false)")
    task = m.resources.get("aws_ecs_task_definition", {}).get("this", {})
    if "local.collector_containers" not in str(task.get("container_definitions", "")):
        problems.append("the task definition must include local.collector_containers")
    doc = m.data.get("aws_iam_policy_document", {}).get("task_remote_write", {})
    statements = doc.get("statement", [])
    if [(st.get("actions"), st.get("resources")) for st in statements] != [
        (["aps:RemoteWrite"], ["${var.metrics_collector.workspace_arn}"])
    ]:
        problems.append("the task role may only aps:RemoteWrite to the workspace")
    policy = m.resources.get("aws_iam_role_policy", {}).get("task_remote_write", {})
    if policy.get("role") != "${aws_iam_role.task.id}" or "count" not in policy:
        problems.append("the remote-write policy belongs to the task role, only with a collector")
    return problems


def check_managed_prometheus(m: Any) -> list[str]:
    problems = []
    workspace = m.resources.get("aws_prometheus_workspace", {}).get("this", {})
    if workspace.get("count") != "${var.enable_managed_prometheus ? 1 : 0}":
        problems.append("the AMP workspace must exist exactly when enable_managed_prometheus")
    for name in ("amp_workspace_arn", "amp_query_url", "amp_remote_write_url"):
        if name not in m.outputs:
            problems.append(f"output {name} is missing")
    if 'trimsuffix(local.amp_endpoint, "/")' not in str(m.outputs.get("amp_query_url")):
        problems.append("amp_query_url must be the endpoint without its trailing slash")
    return problems


# --- real modules pass --------------------------------------------------------------------

CASES: dict[str, tuple[str, Check]] = {
    "weighted listener": ("modules/alb", check_weighted_listener),
    "external controller": ("modules/ecs_service", check_external_controller),
    "access log": ("modules/ecs_service", check_access_log),
    "drain": ("modules/alb", check_drain),
    "postgres": ("modules/data", check_postgres),
    "redis": ("modules/data", check_redis),
    "oidc trust": ("modules/github_oidc", check_oidc_trust),
    "deploy policy": ("modules/github_oidc", check_deploy_policy),
    "metrics collector": ("modules/ecs_service", check_metrics_collector),
    "managed prometheus": ("modules/observability", check_managed_prometheus),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_module_has_the_property(case: str, tf_sources: Any, hcl_module: Any) -> None:
    rel, check = CASES[case]
    assert check(hcl_module(tf_sources(rel))) == []


# --- broken copies are caught ------------------------------------------------------------

MUTATIONS = [
    ("weighted listener", "main.tf", "ignore_changes = [default_action]", "ignore_changes = []"),
    (
        "weighted listener",
        "main.tf",
        'aws_lb_target_group.this["green"].arn',
        'aws_lb_target_group.this["blue"].arn',
    ),
    ("weighted listener", "main.tf", "weight = 0", "weight = 10"),
    ("external controller", "main.tf", 'type = "EXTERNAL"', 'type = "ECS"'),
    ("external controller", "main.tf", 'launch_type = "FARGATE"', 'launch_type = "EC2"'),
    ("external controller", "main.tf", "  launch_type = local.launch_type\n", ""),
    ("external controller", "variables.tf", "default     = 120", "default     = 0"),
    (
        "drain",
        "variables.tf",
        "default     = 300\n\n  validation {\n    # https",
        "default     = 30\n\n  validation {\n    # https",
    ),
    ("drain", "outputs.tf", 'output "deregistration_delay"', 'output "other"'),
    ("access log", "variables.tf", 'default     = "stdout"', 'default     = "off"'),
    ("access log", "main.tf", "ACCESS_LOG = var.access_log", "OTHER = var.access_log"),
    ("access log", "main.tf", 'logDriver = "awslogs"', 'logDriver = "json-file"'),
    ("postgres", "main.tf", "storage_encrypted     = true", "storage_encrypted     = false"),
    ("postgres", "main.tf", "publicly_accessible    = false", "publicly_accessible    = true"),
    (
        "postgres",
        "main.tf",
        "subnet_ids = var.private_subnet_ids",
        "subnet_ids = var.public_subnet_ids",
    ),
    ("redis", "main.tf", "transit_encryption_enabled = true", "transit_encryption_enabled = false"),
    ("redis", "main.tf", "at_rest_encryption_enabled = true", "at_rest_encryption_enabled = false"),
    (
        "oidc trust",
        "main.tf",
        'values   = ["sts.amazonaws.com"]',
        'values   = ["sts.amazonaws.com", "x"]',
    ),
    (
        "oidc trust",
        "main.tf",
        'test     = "StringEquals"\n      variable = "token.actions.githubusercontent.com:sub"',
        'test     = "StringLike"\n      variable = "token.actions.githubusercontent.com:sub"',
    ),
    ("oidc trust", "main.tf", ":environment:${env}", ":*"),
    ("deploy policy", "policy.tf", "resources = var.pass_role_arns", 'resources = ["*"]'),
    (
        "deploy policy",
        "policy.tf",
        '"elasticloadbalancing:ModifyRule"]',
        '"elasticloadbalancing:*"]',
    ),
    ("deploy policy", "policy.tf", 'variable = "ecs:CreateAction"', 'variable = "aws:x"'),
    ("metrics collector", "collector.tf", "essential              = false", "essential = true"),
    ("metrics collector", "collector.tf", '"aps:RemoteWrite"', '"aps:*"'),
    ("metrics collector", "collector.tf", "port                    = var.container_port", ""),
    ("metrics collector", "main.tf", "local.collector_containers", "[]"),
    ("metrics collector", "collector.tf", "value = c.yaml", 'value = ""'),
    ("managed prometheus", "prometheus.tf", "var.enable_managed_prometheus ? 1 : 0", "1"),
]


@pytest.mark.parametrize(("case", "file", "old", "new"), MUTATIONS)
def test_broken_module_is_caught(
    case: str, file: str, old: str, new: str, tf_sources: Any, hcl_module: Any
) -> None:
    rel, check = CASES[case]
    files = tf_sources(rel)
    assert old in files[file], f"mutation target not found in {rel}/{file}: {old!r}"
    files[file] = files[file].replace(old, new, 1)
    assert check(hcl_module(files)), f"{case}: breaking {old!r} went unnoticed"


# --- the local environment (the AWS ones: test_terraform_environments.py) ---------------


def test_local_environment_uses_only_builtin_resources(tf_sources: Any, hcl_module: Any) -> None:
    m = hcl_module(tf_sources("environments/local"))
    assert set(m.resources) == {"terraform_data"}
    assert not m.data and not m.modules and not m.providers
    assert "required_providers" not in _one(m.terraform)
    assert {"router_url", "replicas", "state_dir", "canaryctl_local"} <= set(m.outputs)
