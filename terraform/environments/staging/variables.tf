variable "environment" {
  description = "Name of the environment; also the GitHub environment allowed to deploy to it."
  type        = string
  default     = "staging"
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
  default     = "10.40.0.0/16"
}

variable "github_repository" {
  description = "OWNER/REPO whose deploy workflow may assume the deploy role."
  type        = string
}

variable "github_environments" {
  description = "GitHub environments whose jobs may assume the deploy role."
  type        = list(string)
  default     = ["staging"]
}

variable "create_oidc_provider" {
  description = "Create GitHub's OIDC provider (false when another environment in the account already did)."
  type        = bool
  default     = true
}

variable "terraform_state_bucket" {
  description = "The bucket named in backend.hcl; lets the deploy role read this environment's outputs. null to not allow it."
  type        = string
  default     = null
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
  default     = 2
}

variable "alb_deletion_protection" {
  description = "Refuse to delete the load balancer; set false to tear staging down."
  type        = bool
  default     = true
}
