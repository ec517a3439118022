# What a canaryctl pipeline and the deploy workflow need. Each environment passes every
# output through under the same name: `canaryctl env outputs ENV` prints them; a pipeline
# refers to them as ${env.ENV.outputs.NAME} or takes a whole block with
# `fromEnvironment: ENV` (docs/aws.md).

output "region" {
  description = "AWS region of the environment."
  value       = var.region
}

output "cluster" {
  description = "ECS cluster name."
  value       = module.ecs_service.cluster_name
}

output "service" {
  description = "ECS service name."
  value       = module.ecs_service.service_name
}

output "listener_arn" {
  description = "HTTPS listener whose weighted forward action canaryctl drives."
  value       = module.alb.listener_arn
}

output "blue_target_group_arn" {
  description = "Blue target group (100% at creation)."
  value       = module.alb.blue_target_group_arn
}

output "green_target_group_arn" {
  description = "Green target group (the first canary's)."
  value       = module.alb.green_target_group_arn
}

output "load_balancer_arn_suffix" {
  description = "CloudWatch dimension of the ALB."
  value       = module.alb.load_balancer_arn_suffix
}

output "blue_target_group_arn_suffix" {
  description = "CloudWatch dimension of the blue target group."
  value       = module.alb.blue_target_group_arn_suffix
}

output "green_target_group_arn_suffix" {
  description = "CloudWatch dimension of the green target group."
  value       = module.alb.green_target_group_arn_suffix
}

output "alb_dns_name" {
  description = "DNS name to point the game's domain at."
  value       = module.alb.dns_name
}

output "state_bucket" {
  description = "canaryctl's state bucket (records and locks)."
  value       = module.state_bucket.bucket
}

output "deploy_role_arn" {
  description = "Role the deploy workflow assumes by OIDC."
  value       = module.github_oidc.role_arn
}

output "task_definition_arn" {
  description = "First task definition revision (for the initial task set)."
  value       = module.ecs_service.task_definition_arn
}

output "launch_type" {
  description = "Launch type of the service and its task sets (the first one's --launch-type)."
  value       = module.ecs_service.launch_type
}

output "deregistration_delay" {
  description = "Seconds the target groups drain a deregistered task (canaryctl's drainDelay is at least this)."
  value       = module.alb.deregistration_delay
}

output "container_name" {
  description = "Container the target groups point at."
  value       = module.ecs_service.container_name
}

output "container_port" {
  description = "Port of that container."
  value       = module.ecs_service.container_port
}

output "private_subnet_ids" {
  description = "Subnets of the task sets."
  value       = module.network.private_subnet_ids
}

output "service_security_group_id" {
  description = "Security group of the task sets."
  value       = module.ecs_service.security_group_id
}

output "log_group_name" {
  description = "Log group of the service's containers."
  value       = module.observability.log_group_name
}

output "canaryctl_ecs" {
  description = "The `platform:` block of an ecs pipeline (`fromEnvironment: ENV`); keys as in canaryctl/platforms/ecs/settings.py."
  value = {
    cluster       = module.ecs_service.cluster_name
    service       = module.ecs_service.service_name
    region        = var.region
    listenerArn   = module.alb.listener_arn
    containerName = module.ecs_service.container_name
    # canaryctl replaces {version} with the version it deploys.
    image = replace(var.image, "/:[^:/]+$/", ":{version}")
    targetGroups = {
      blue  = module.alb.blue_target_group_arn
      green = module.alb.green_target_group_arn
    }
    # canaryctl deletes an old task set this long after scaling it to 0: no sooner than the
    # ALB has drained its connections. A pipeline may wait longer, never less (validated).
    drainDelay          = module.alb.deregistration_delay
    deregistrationDelay = module.alb.deregistration_delay
  }
}

output "canaryctl_cloudwatch" {
  description = "The `metrics:` block of a cloudwatch pipeline (`fromEnvironment: ENV`)."
  value = {
    region = var.region
  }
}

output "amp_query_url" {
  description = "Amazon Managed Prometheus workspace URL for a prometheus pipeline's metrics.url (env.ENV.outputs.amp_query_url in a pipeline); null when enable_managed_prometheus is false."
  value       = module.observability.amp_query_url
}
