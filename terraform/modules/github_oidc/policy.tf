# Exactly what canaryctl calls. Where AWS supports resource-level permissions the statement
# names this environment's ARNs; the few actions that only accept "*" are kept apart so
# that is visible. tests/unit/infra/test_deploy_policy_matches_calls.py derives the calls from
# canaryctl/'s code and fails on any call not allowed here or any grant nothing calls.

data "aws_iam_policy_document" "deploy" {
  statement {
    sid = "EcsTaskSetsOfTheService"
    actions = [
      "ecs:DescribeServices",
      "ecs:DescribeTaskSets",
      "ecs:CreateTaskSet",
      "ecs:UpdateTaskSet",
      "ecs:DeleteTaskSet",
      "ecs:UpdateServicePrimaryTaskSet",
    ]
    resources = [var.service_arn, local.task_sets]
  }

  statement {
    # RegisterTaskDefinition and DescribeTaskDefinition accept no resource but "*".
    sid = "EcsTaskDefinitions"
    actions = [
      "ecs:RegisterTaskDefinition",
      "ecs:DescribeTaskDefinition",
    ]
    resources = ["*"]
  }

  statement {
    # canaryctl tags the revisions and task sets it creates (version, fingerprint): tagging
    # on create needs TagResource, allowed only as part of those two calls.
    sid       = "EcsTagOnCreate"
    actions   = ["ecs:TagResource"]
    resources = [local.task_definitions, local.task_sets]
    condition {
      test     = "StringEquals"
      variable = "ecs:CreateAction"
      values   = ["RegisterTaskDefinition", "CreateTaskSet"]
    }
  }

  statement {
    sid       = "PassOnlyTheTaskRoles"
    actions   = ["iam:PassRole"]
    resources = var.pass_role_arns
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }

  statement {
    # Describe* calls of Elastic Load Balancing accept no resource but "*".
    sid = "ElbRead"
    actions = [
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeRules",
      # On a health timeout the error names the targets' health reasons.
      "elasticloadbalancing:DescribeTargetHealth",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "ElbWeightsOfTheListener"
    actions   = ["elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyRule"]
    resources = [var.listener_arn, local.listener_rules]
  }

  statement {
    # GetMetricData accepts no resource but "*".
    sid       = "CloudWatchRead"
    actions   = ["cloudwatch:GetMetricData"]
    resources = ["*"]
  }

  statement {
    sid       = "StateRecordsAndLock"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.state_bucket_arn}/${local.state_prefix}/*"]
  }

  statement {
    # canaryctl deletes only its lock (records, index entries and requests are kept).
    sid       = "StateUnlock"
    actions   = ["s3:DeleteObject"]
    resources = ["${var.state_bucket_arn}/${local.state_prefix}/locks/${var.service_name}.json"]
  }

  statement {
    # GetObject of a missing key answers 404 only to a caller with s3:ListBucket on the
    # bucket, else 403 (https://docs.aws.amazon.com/AmazonS3/latest/API/API_GetObject.html,
    # "Permissions"); every first deploy reads a lock that does not exist yet. A GetObject
    # request carries no s3:prefix, so a ListBucket limited by an s3:prefix condition may not
    # count there: the grant has no condition. It shows key names (not contents) of
    # canaryctl's own state bucket only. With a prefix-conditioned grant instead (a shared
    # bucket), canaryctl reads a 403 as "missing" when listing the key itself shows nothing.
    sid       = "StateListBucket"
    actions   = ["s3:ListBucket"]
    resources = [var.state_bucket_arn]
  }

  statement {
    sid       = "StateEncryption"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${data.aws_region.current.region}.amazonaws.com"]
    }
  }

  # The Prometheus source's queries (SigV4, service aps) on the environment's Amazon Managed
  # Prometheus workspace, when it has one.
  dynamic "statement" {
    for_each = var.amp_workspace_arn == null ? [] : [var.amp_workspace_arn]
    content {
      sid       = "ManagedPrometheusQuery"
      actions   = ["aps:QueryMetrics"]
      resources = [statement.value]
    }
  }

  # `canaryctl env outputs ENV` in the workflow reads the environment's Terraform state
  # (read-only: `terraform output` takes no lock).
  dynamic "statement" {
    for_each = var.terraform_state == null ? [] : [var.terraform_state]
    content {
      sid       = "TerraformOutputsRead"
      actions   = ["s3:GetObject"]
      resources = ["arn:${data.aws_partition.current.partition}:s3:::${statement.value.bucket}/${statement.value.key}"]
    }
  }

  dynamic "statement" {
    for_each = var.terraform_state == null ? [] : [var.terraform_state]
    content {
      sid       = "TerraformOutputsList"
      actions   = ["s3:ListBucket"]
      resources = ["arn:${data.aws_partition.current.partition}:s3:::${statement.value.bucket}"]
      condition {
        test     = "StringLike"
        variable = "s3:prefix"
        values   = [statement.value.key, "env:/*"]
      }
    }
  }
}
