# No defaults here: an environment's defaults live in its own variables.tf (what
# `canaryctl env up ENV --var NAME=VALUE` overrides), and its sizes and protections are
# written in its module call, so nothing an environment relies on is decided silently here.

variable "environment" {
  description = "Name of the environment; also the GitHub environment allowed to deploy to it."
  type        = string
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
}

variable "service_name" {
  description = "The service canaryctl deploys (the pipeline's `service`)."
  type        = string
}

variable "image" {
  description = "Image of the first task definition revision, e.g. ACCOUNT.dkr.ecr.REGION.amazonaws.com/gamebackend:1.0.0."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate of the game's domain, for the HTTPS listener."
  type        = string
}

variable "availability_zones" {
  description = "Zones of the subnets; empty means the region's a and b zones."
  type        = list(string)
}

variable "vpc_cidr" {
  description = "Address range of the VPC."
  type        = string
}

variable "github_repository" {
  description = "OWNER/REPO whose deploy workflow may assume the deploy role."
  type        = string
}

variable "github_environments" {
  description = "GitHub environments whose jobs may assume the deploy role."
  type        = list(string)
}

variable "create_oidc_provider" {
  description = "Create GitHub's OIDC provider (false when another environment in the account already did)."
  type        = bool
}

variable "terraform_state_bucket" {
  description = "The environment's backend bucket; lets the deploy role read its outputs. null to not allow it."
  type        = string
}

variable "app_secrets" {
  description = "Container variables injected from Secrets Manager: NAME => secret ARN (e.g. GAMEBACKEND_SECRET)."
  type        = map(string)
}

variable "alarm_emails" {
  description = "Addresses notified when a route-class alarm fires."
  type        = list(string)
}

variable "desired_count" {
  description = "Tasks of the service at creation."
  type        = number
}

# --- size and protection: what makes staging small and production safe ---

variable "kms_deletion_window_in_days" {
  description = "Days KMS waits before deleting the key once scheduled (7-30)."
  type        = number
}

variable "single_nat_gateway" {
  description = "One NAT gateway for every zone (cheaper) instead of one per zone."
  type        = bool
}

variable "min_count" {
  description = "Fewest tasks autoscaling may run."
  type        = number
}

variable "max_count" {
  description = "Most tasks autoscaling may run."
  type        = number
}

variable "multi_az" {
  description = "A standby database in a second zone."
  type        = bool
}

variable "database_deletion_protection" {
  description = "Refuse to delete the database."
  type        = bool
}

variable "redis_replicas" {
  description = "Redis replicas beside the primary."
  type        = number
}

variable "alb_deletion_protection" {
  description = "Refuse to delete the load balancer."
  type        = bool
}

variable "state_bucket_force_destroy" {
  description = "Let Terraform delete canaryctl's state bucket with its records in it."
  type        = bool
}

variable "deregistration_delay" {
  description = "Seconds the ALB keeps a draining task's connections (WebSocket sessions included); canaryctl's drainDelay is at least this."
  type        = number
}

variable "health_check_grace_period_seconds" {
  description = "Seconds ECS ignores failing ALB health checks of a new task (/readyz needs RDS and Redis)."
  type        = number
}

variable "enable_managed_prometheus" {
  description = "An Amazon Managed Prometheus workspace, an ADOT collector beside each task remote-writing the backend's /metrics to it, and aps:QueryMetrics for the deploy role: the source of route-class SLOs on AWS (docs/aws.md)."
  type        = bool
}
