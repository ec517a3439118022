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
