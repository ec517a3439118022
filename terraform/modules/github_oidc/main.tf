# The role GitHub Actions assumes to run `canaryctl deploy`. Only this repository's chosen
# GitHub environments can assume it (the token's `sub` claim is pinned to
# repo:OWNER/REPO:environment:ENV and its audience to STS), and it may call exactly the APIs
# canaryctl uses, on this environment's cluster, service, listener and state prefix.

data "aws_caller_identity" "current" {}
data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  oidc_host    = "token.actions.githubusercontent.com"
  provider_arn = var.create_oidc_provider ? aws_iam_openid_connect_provider.github[0].arn : data.aws_iam_openid_connect_provider.github[0].arn
  subjects     = [for env in var.github_environments : "repo:${var.github_repository}:environment:${env}"]

  arn_prefix       = "arn:${data.aws_partition.current.partition}"
  ecs_prefix       = "${local.arn_prefix}:ecs:${data.aws_region.current.region}:${data.aws_caller_identity.current.account_id}"
  task_sets        = "${local.ecs_prefix}:task-set/${var.cluster_name}/${var.service_name}/*"
  task_definitions = "${local.ecs_prefix}:task-definition/${var.task_definition_family}:*"
  # Rules of the listener: listener/app/NAME/LB/L -> listener-rule/app/NAME/LB/L/*
  listener_rules = "${replace(var.listener_arn, ":listener/", ":listener-rule/")}/*"
  state_prefix   = trimsuffix(var.state_prefix, "/")
}

# An account has one provider per URL: create it once (the first environment) and look it
# up elsewhere.
resource "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 1 : 0

  url            = "https://${local.oidc_host}"
  client_id_list = ["sts.amazonaws.com"]
  # AWS trusts GitHub's certificate authority itself; older provider versions still require
  # a thumbprint, so GitHub's published ones are listed.
  thumbprint_list = [
    "6938fd4d98bab03faadb97b34396831e3780aea1",
    "1c58a3a8518e8759bf075b76b750d4f2df264fcd",
  ]
}

data "aws_iam_openid_connect_provider" "github" {
  count = var.create_oidc_provider ? 0 : 1

  url = "https://${local.oidc_host}"
}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "GitHubActionsEnvironments"
    effect  = "Allow"
    actions = ["sts:AssumeRoleWithWebIdentity"]

    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:aud"
      values   = ["sts.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "token.actions.githubusercontent.com:sub"
      values   = local.subjects
    }
  }
}

resource "aws_iam_role" "deploy" {
  name                 = var.role_name
  description          = "canaryctl deployments from ${var.github_repository} (${join(", ", var.github_environments)})"
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.max_session_duration
}

resource "aws_iam_role_policy" "deploy" {
  name   = "canaryctl"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}
