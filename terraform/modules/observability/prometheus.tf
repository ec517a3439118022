# Amazon Managed Prometheus, when the environment wants route-class SLOs on the service's own
# metrics (CloudWatch's ALB metrics have no route dimension): one workspace; each task's
# collector (../ecs_service/collector.tf) remote-writes to it and canaryctl's Prometheus
# source queries it (aps:QueryMetrics, ../github_oidc/policy.tf), both SigV4-signed.

resource "aws_prometheus_workspace" "this" {
  count = var.enable_managed_prometheus ? 1 : 0

  alias = var.name
}

locals {
  # prometheus_endpoint is https://aps-workspaces.REGION.amazonaws.com/workspaces/ID/
  amp_endpoint = try(aws_prometheus_workspace.this[0].prometheus_endpoint, null)
}
