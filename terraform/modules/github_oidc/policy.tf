# Exactly what canaryctl calls. Where AWS supports resource-level permissions the statement
# names this environment's ARNs; the few actions that only accept "*" are kept apart so
# that is visible.

data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "EcsReadCluster"
    actions   = ["ecs:DescribeClusters"]
    resources = [var.cluster_arn]
  }

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
    sid       = "EcsTasksOfTheCluster"
    actions   = ["ecs:DescribeTasks"]
    resources = [local.tasks]
  }

  statement {
    sid       = "EcsListTasksOfTheCluster"
    actions   = ["ecs:ListTasks"]
    resources = ["*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
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
      "elasticloadbalancing:DescribeTargetGroups",
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
    actions   = ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"]
    resources = ["${var.state_bucket_arn}/${local.state_prefix}/*"]
  }

  statement {
    # Without ListBucket a missing record answers 403 instead of 404.
    sid       = "StateListPrefix"
    actions   = ["s3:ListBucket"]
    resources = [var.state_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${local.state_prefix}/*"]
    }
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
