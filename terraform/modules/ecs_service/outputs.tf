output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "Name of the ECS service."
  value       = aws_ecs_service.this.name
}

output "service_arn" {
  description = "ARN of the ECS service."
  value       = aws_ecs_service.this.id
}

output "task_definition_arn" {
  description = "First task definition revision (for the initial task set)."
  value       = aws_ecs_task_definition.this.arn
}

output "task_definition_family" {
  description = "Family canaryctl registers new revisions in."
  value       = aws_ecs_task_definition.this.family
}

output "container_name" {
  description = "Container the target groups point at."
  value       = var.container_name
}

output "container_port" {
  description = "Port the container listens on."
  value       = var.container_port
}

output "task_execution_role_arn" {
  description = "Role ECS uses to start the tasks."
  value       = aws_iam_role.execution.arn
}

output "task_role_arn" {
  description = "Role the backend's code runs as."
  value       = aws_iam_role.task.arn
}

output "security_group_id" {
  description = "Security group of the tasks (data stores admit it)."
  value       = aws_security_group.service.id
}

output "launch_type" {
  description = "Launch type of the service and of every task set (the first one included)."
  value       = local.launch_type
}
