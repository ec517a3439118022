"""The deploy role's policy (terraform/modules/github_oidc/policy.tf) allows exactly the AWS calls
canaryctl makes: every call found in canaryctl/'s code is allowed, and every allowed action is
either called or listed in ``IMPLIED`` with the reason AWS needs it (issue 11, acceptance 5).

The calls are read from the code (AST), not listed by hand:
- boto3 clients come from ``aws.client("<service>")``; the names those clients are stored under
  (``self._ecs = ... aws.client("ecs")``) are the receivers of its calls, wherever the client is
  passed to (``self.p._ecs.create_task_set``). Any ``<receiver>.<name>`` on such a receiver must
  be an operation of that service's botocore model (or ``meta``/``exceptions``); a paginator or a
  waiter would need this test taught first.
- an operation name of these services on any other receiver fails the test (an AWS call the
  test cannot attribute), so a call through a new alias cannot go unnoticed;
- Amazon Managed Prometheus: requests SigV4-signed for service ``aps``; the IAM action follows
  from the prometheus-api-client method that sends them (``custom_query`` → ``/api/v1/query`` →
  ``aps:QueryMetrics``).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore import xform_name

REPO = Path(__file__).resolve().parents[3]
CODE = REPO / "canaryctl"
POLICY_MODULE = "modules/github_oidc"

IAM_PREFIX = {"ecs": "ecs", "elbv2": "elasticloadbalancing", "cloudwatch": "cloudwatch", "s3": "s3"}
# S3's IAM actions are not its operation names
# (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
S3_ACTIONS = {
    "GetObject": "s3:GetObject",
    "HeadObject": "s3:GetObject",
    "PutObject": "s3:PutObject",
    "DeleteObject": "s3:DeleteObject",
    "ListObjectsV2": "s3:ListBucket",
    "ListObjects": "s3:ListBucket",
}
# prometheus-api-client methods → the AMP action of the endpoint each requests
# (https://docs.aws.amazon.com/prometheus/latest/userguide/AMP-APIReference.html).
AMP_ACTIONS = {
    "custom_query": "aps:QueryMetrics",
    "custom_query_range": "aps:QueryMetrics",
    "get_current_metric_value": "aps:QueryMetrics",
    "get_metric_range_data": "aps:QueryMetrics",
    "get_series": "aps:GetSeries",
    "get_label_names": "aps:GetLabels",
    "get_label_values": "aps:GetLabels",
    "all_metrics": "aps:GetLabels",
    "get_metric_metadata": "aps:GetMetricMetadata",
}
CLIENT_ATTRS = {"meta", "exceptions"}


@dataclass(frozen=True)
class Call:
    action: str
    where: str  # canaryctl/…/file.py:line


class Underivable(AssertionError):
    """The code holds a call this test cannot map to an IAM action."""


def _modules(root: Path = CODE) -> Iterator[tuple[str, ast.Module]]:
    for path in sorted(root.rglob("*.py")):
        yield str(path.relative_to(root.parent)), ast.parse(path.read_text(), str(path))


def _last_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _client_service(node: ast.AST) -> str | None:
    """``"ecs"`` when ``node`` holds an ``aws.client("ecs", ...)`` call."""
    for sub in ast.walk(node):
        if (
            isinstance(sub, ast.Call)
            and isinstance(sub.func, ast.Attribute)
            and sub.func.attr == "client"
            and _last_name(sub.func.value) == "aws"
            and sub.args
            and isinstance(sub.args[0], ast.Constant)
        ):
            return str(sub.args[0].value)
    return None


@cache
def _operations(service: str) -> dict[str, str]:
    """snake_case method name → operation name, from botocore's model."""
    model = botocore.session.get_session().get_service_model(service)
    return {xform_name(op): op for op in model.operation_names}


def _iam_action(service: str, operation: str, where: str) -> str:
    if service == "s3":
        if operation not in S3_ACTIONS:
            raise Underivable(f"{where}: s3 {operation}: teach S3_ACTIONS its IAM action")
        return S3_ACTIONS[operation]
    return f"{IAM_PREFIX[service]}:{operation}"


@cache
def code_calls(root: Path = CODE) -> tuple[Call, ...]:
    modules = list(_modules(root))
    aliases: dict[str, str] = {}  # receiver name → service
    for _, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.Assign) and (service := _client_service(node.value)):
                for target in node.targets:
                    if name := _last_name(target):
                        aliases[name] = service
    if unknown := set(aliases.values()) - set(IAM_PREFIX):
        raise Underivable(f"clients of {unknown}: teach this test their IAM prefix")
    every_op = {name for service in set(aliases.values()) for name in _operations(service)}

    calls: list[Call] = []
    signs_aps = False
    for rel, tree in modules:
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _last_name(node.func) == "SigV4Auth":
                signs_aps |= any(
                    isinstance(a, ast.Constant) and a.value == "aps" for a in node.args
                )
            if not isinstance(node, ast.Attribute):
                continue
            where = f"{rel}:{node.lineno}"
            service = aliases.get(_last_name(node.value) or "")
            if service is not None:
                if node.attr in CLIENT_ATTRS:
                    continue
                operation = _operations(service).get(node.attr)
                if operation is None:
                    raise Underivable(f"{where}: {service} client .{node.attr}: not an operation")
                calls.append(Call(_iam_action(service, operation, where), where))
            elif node.attr in every_op:
                raise Underivable(f"{where}: .{node.attr}: an AWS call on an unknown client")
            elif rel.endswith("metrics/prometheus.py") and node.attr in AMP_ACTIONS:
                calls.append(Call(AMP_ACTIONS[node.attr], where))
    if not signs_aps:  # Prometheus without SigV4 is not AMP: nothing for IAM
        calls = [c for c in calls if not c.action.startswith("aps:")]
    return tuple(calls)


def called() -> set[str]:
    return {c.action for c in code_calls()}


def _code_mentions(constant: str, under: str) -> bool:
    return any(
        isinstance(n, ast.Constant) and n.value == constant
        for rel, tree in _modules()
        if rel.startswith(under)
        for n in ast.walk(tree)
    )


# Allowed without a call of their own: AWS checks them as part of a call canaryctl makes. Each
# holds only while the call that needs it is made (the lambda), so a stale entry fails too.
IMPLIED: dict[str, tuple[str, Any]] = {
    "iam:PassRole": (
        "RegisterTaskDefinition keeps the base revision's taskRoleArn/executionRoleArn: ECS "
        "checks iam:PassRole on them (https://docs.aws.amazon.com/AmazonECS/latest/"
        "developerguide/task-iam-roles.html)",
        lambda: "ecs:RegisterTaskDefinition" in called(),
    ),
    "ecs:TagResource": (
        "revisions and task sets are created with tags (version, fingerprint): tagging on "
        "create needs ecs:TagResource (https://docs.aws.amazon.com/AmazonECS/latest/"
        "developerguide/supported-iam-actions-tagging.html)",
        lambda: (
            _code_mentions("tags", "canaryctl/platforms/ecs/")
            and {"ecs:RegisterTaskDefinition", "ecs:CreateTaskSet"} <= called()
        ),
    ),
    "kms:Decrypt": (
        "GetObject of an SSE-KMS object (the state bucket's default encryption)",
        lambda: "s3:GetObject" in called(),
    ),
    "kms:GenerateDataKey": (
        "PutObject of an SSE-KMS object (the state bucket's default encryption)",
        lambda: "s3:PutObject" in called(),
    ),
}


def _statements(m: Any) -> list[tuple[dict[str, Any], bool]]:
    """(statement, conditional) of the deploy policy; dynamic blocks are conditional."""
    doc = m.data["aws_iam_policy_document"]["deploy"]
    found = [(st, False) for st in doc.get("statement", [])]
    for dyn in doc.get("dynamic", []):
        block = dyn.get("statement", {})
        content = block.get("content")
        found.append((content[0] if isinstance(content, list) else content, True))
    return found


def policy_problems(m: Any) -> list[str]:
    allowed: set[str] = set()
    for st, _ in _statements(m):
        allowed.update(st.get("actions", []))
    problems = [
        f"not allowed: {c.action} ({c.where})" for c in code_calls() if c.action not in allowed
    ]
    for action in sorted(allowed - called()):
        reason = IMPLIED.get(action)
        if reason is None:
            problems.append(f"allowed but never called: {action}")
        elif not reason[1]():
            problems.append(f"allowed for a call canaryctl no longer makes: {action}")
    return problems


def scope_problems(m: Any) -> list[str]:
    """Where the policy is narrower than its actions: DeleteObject on the lock only, ListBucket
    on the state bucket itself, AMP only when it is on."""
    problems = []
    for st, conditional in _statements(m):
        actions, resources = st.get("actions", []), st.get("resources", [])
        sid = st.get("sid")
        if "s3:DeleteObject" in actions and resources != [
            "${var.state_bucket_arn}/${local.state_prefix}/locks/${var.service_name}.json"
        ]:
            problems.append(f"{sid}: DeleteObject must name the service's lock key: {resources}")
        if sid == "StateListBucket" and (
            resources != ["${var.state_bucket_arn}"] or st.get("condition")
        ):
            problems.append(f"{sid}: ListBucket on the state bucket itself, unconditioned")
        if any(a.startswith("aps:") for a in actions) and (not conditional or resources == ["*"]):
            problems.append(f"{sid}: aps actions only when AMP is on, on its workspace")
    sids = [st.get("sid") for st, _ in _statements(m)]
    if "StateListBucket" not in sids:
        problems.append("no StateListBucket statement")
    if not any(
        "aps:QueryMetrics" in st.get("actions", []) and conditional
        for st, conditional in _statements(m)
    ):
        problems.append("no conditional aps:QueryMetrics statement (AMP on)")
    return problems


def test_the_code_makes_the_calls_this_test_knows_of() -> None:
    # The derivation itself: a few calls every deployment makes, found where they are made.
    where = {c.action: c.where for c in code_calls()}
    assert where["ecs:CreateTaskSet"].startswith("canaryctl/platforms/ecs/")
    assert where["elasticloadbalancing:ModifyListener"].startswith("canaryctl/platforms/ecs/")
    assert where["s3:ListBucket"].startswith("canaryctl/state/s3.py")
    assert where["cloudwatch:GetMetricData"].startswith("canaryctl/metrics/cloudwatch.py")
    assert where["aps:QueryMetrics"].startswith("canaryctl/metrics/prometheus.py")


def test_the_deploy_policy_allows_exactly_the_calls(tf_sources: Any, hcl_module: Any) -> None:
    assert policy_problems(hcl_module(tf_sources(POLICY_MODULE))) == []


def test_the_deploy_policy_is_scoped(tf_sources: Any, hcl_module: Any) -> None:
    assert scope_problems(hcl_module(tf_sources(POLICY_MODULE))) == []


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('"ecs:DeleteTaskSet",\n', "", "not allowed: ecs:DeleteTaskSet"),
        (
            '"elasticloadbalancing:DescribeTargetHealth",',
            '"elasticloadbalancing:DescribeTargetHealth",'
            ' "elasticloadbalancing:DescribeTargetGroups",',
            "allowed but never called: elasticloadbalancing:DescribeTargetGroups",
        ),
    ],
)
def test_a_missing_or_an_extra_grant_is_caught(
    old: str, new: str, expected: str, tf_sources: Any, hcl_module: Any
) -> None:
    files = tf_sources(POLICY_MODULE)
    assert old in files["policy.tf"]
    files["policy.tf"] = files["policy.tf"].replace(old, new, 1)
    problems = policy_problems(hcl_module(files))
    assert [p for p in problems if p.startswith(expected)], problems


FAKE_CLIENTS = (
    "from canaryctl import aws\n"
    "class P:\n"
    "    def __init__(self):\n"
    "        self._ecs = aws.client('ecs')\n"
    "    def go(self):\n"
    "        return self._ecs.describe_task_sets(cluster='c')\n"
)


@pytest.mark.parametrize(
    ("extra", "error"),
    [
        ("def f(ecs):\n    return ecs.delete_task_set()\n", "an AWS call on an unknown client"),
        ("def f(p):\n    return p._ecs.get_paginator('x')\n", "not an operation"),
        ("def f(p):\n    return aws.client('sqs')\n", None),
    ],
)
def test_the_derivation_refuses_what_it_cannot_map(
    extra: str, error: str | None, tmp_path: Path
) -> None:
    root = tmp_path / "canaryctl"
    root.mkdir()
    (root / "platform.py").write_text(FAKE_CLIENTS)
    assert {c.action for c in code_calls(root)} == {"ecs:DescribeTaskSets"}
    (root / "extra.py").write_text(
        "from canaryctl import aws\nq = aws.client('sqs')\n" if error is None else extra
    )
    with pytest.raises(Underivable, match=error or "teach this test their IAM prefix"):
        code_calls.__wrapped__(root)
