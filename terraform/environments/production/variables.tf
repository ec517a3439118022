variable "environment" {
  description = "Name of the environment; also the GitHub environment allowed to deploy to it."
  type        = string
  default     = "production"
}

variable "region" {
  description = "AWS region of the environment."
  type        = string
}

variable "service_name" {
  description = "The service canaryctl deploys (the pipeline's `service`)."
  type        = string
  default     = "gamebackend"
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
  default     = []
}

variable "vpc_cidr" {
  description = "Address range of the VPC."
  type        = string
  default     = "10.50.0.0/16"
}

variable "github_repository" {
  description = "OWNER/REPO whose deploy workflow may assume the deploy role."
  type        = string
}

variable "github_environments" {
  description = "GitHub environments whose jobs may assume the deploy role."
  type        = list(string)
  default     = ["production"]
}

variable "create_oidc_provider" {
  description = "Create GitHub's OIDC provider (false when another environment in the account already did)."
  type        = bool
  default     = true
}

variable "terraform_state_bucket" {
  # No default: a pipeline with `fromEnvironment: ENV` (or ${env.ENV.outputs.KEY}) reads this
  # environment's outputs from its Terraform state with the deploy role, which may read that
  # object only when the bucket is named here. Set it to null in terraform.tfvars only when no
  # pipeline deployed by the workflow refers to this environment.
  description = "The bucket named in backend.hcl: lets the deploy role read this environment's outputs (fromEnvironment). Required; null (explicitly) to not allow it."
  type        = string

  validation {
    condition     = var.terraform_state_bucket == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.terraform_state_bucket))
    error_message = "terraform_state_bucket must be an S3 bucket name (the one in backend.hcl), or null."
  }
}

variable "app_secrets" {
  description = "Container variables injected from Secrets Manager: NAME => secret ARN (e.g. GAMEBACKEND_SECRET)."
  type        = map(string)
  default     = {}
}

variable "alarm_emails" {
  description = "Addresses notified when a route-class alarm fires."
  type        = list(string)
  default     = []
}

variable "desired_count" {
  description = "Tasks of the service at creation."
  type        = number
  default     = 4
}

variable "deregistration_delay" {
  description = "Seconds the ALB keeps a draining task's connections open: WebSocket sessions get up to this long to end when a release is promoted or rolled back. The default equals the ALB idle timeout (300 s), the longest a quiet session lives anyway; canaryctl waits at least this long before deleting the old task set (fromEnvironment passes it as drainDelay)."
  type        = number
  default     = 300
}

variable "health_check_grace_period_seconds" {
  description = "Seconds ECS ignores failing ALB health checks of a new task. /readyz answers 200 only when RDS and Redis both answer; 120 s covers a cold start and a start during an RDS Multi-AZ failover (60-120 s)."
  type        = number
  default     = 120
}

variable "enable_managed_prometheus" {
  description = "Amazon Managed Prometheus for the backend's own metrics (an ADOT collector in each task): needed for route-class SLOs, which CloudWatch cannot judge."
  type        = bool
  default     = true
}
