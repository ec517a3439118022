# The metrics collector beside the backend, when the environment has an Amazon Managed
# Prometheus workspace: an ADOT (aws-otel-collector) container in the same task scrapes the
# backend's /metrics on localhost and remote-writes them, SigV4-signed, to the workspace; the
# task role may RemoteWrite there and nowhere else. Its configuration (../adot_config) is
# passed in AOT_CONFIG_CONTENT (https://aws-otel.github.io/docs/setup/ecs).
#
# canaryctl derives each canary's revision from the primary's task definition and keeps its
# other containers, so every task set, stable or canary, carries its own collector; the
# backend labels its series with its version, which is how the Prometheus source tells the
# canary from stable.

module "collector_config" {
  source = "../adot_config"
  count  = var.metrics_collector == null ? 0 : 1

  job_name                = var.service_name
  port                    = var.container_port
  region                  = data.aws_region.current.region
  remote_write_url        = var.metrics_collector.remote_write_url
  scrape_interval_seconds = var.metrics_collector.scrape_interval_seconds
}

locals {
  collector_containers = [for c in module.collector_config : {
    name  = "aws-otel-collector"
    image = var.metrics_collector.image
    # Not essential: a collector that stops leaves the backend serving; its series stop, and
    # canaryctl's missing-data rule decides (no verdict on metrics that are not there).
    essential              = false
    readonlyRootFilesystem = true
    privileged             = false
    environment            = [{ name = "AOT_CONFIG_CONTENT", value = c.yaml }]
    logConfiguration = {
      logDriver = "awslogs"
      options = {
        awslogs-group         = var.log_group_name
        awslogs-region        = data.aws_region.current.region
        awslogs-stream-prefix = "${var.service_name}-collector"
      }
    }
  }]
}

data "aws_iam_policy_document" "task_remote_write" {
  count = var.metrics_collector == null ? 0 : 1

  statement {
    sid       = "RemoteWriteToTheWorkspace"
    actions   = ["aps:RemoteWrite"]
    resources = [var.metrics_collector.workspace_arn]
  }
}

resource "aws_iam_role_policy" "task_remote_write" {
  count = var.metrics_collector == null ? 0 : 1

  name   = "remote-write-metrics"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task_remote_write[0].json
}
