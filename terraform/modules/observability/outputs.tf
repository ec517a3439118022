output "log_group_name" {
  description = "Log group of the service's containers."
  value       = aws_cloudwatch_log_group.service.name
}

output "alarm_topic_arn" {
  description = "SNS topic the alarms notify."
  value       = aws_sns_topic.alarms.arn
}

output "metric_namespace" {
  description = "Namespace of the per route class metrics."
  value       = local.namespace
}

output "dashboard_names" {
  description = "One CloudWatch dashboard per route class."
  value       = { for k, d in aws_cloudwatch_dashboard.route_class : k => d.dashboard_name }
}

output "amp_workspace_arn" {
  description = "ARN of the Amazon Managed Prometheus workspace (null when AMP is off)."
  value       = try(aws_prometheus_workspace.this[0].arn, null)
}

output "amp_query_url" {
  description = "The workspace's URL for canaryctl's Prometheus source (metrics.url; it appends /api/v1/query); null when AMP is off."
  value       = local.amp_endpoint == null ? null : trimsuffix(local.amp_endpoint, "/")
}

output "amp_remote_write_url" {
  description = "The workspace's remote write URL, for the collectors; null when AMP is off."
  value       = local.amp_endpoint == null ? null : "${local.amp_endpoint}api/v1/remote_write"
}
