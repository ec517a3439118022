variable "github_repository" {
  description = "The only repository whose workflows may assume the role, as OWNER/REPO."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be OWNER/REPO with no wildcard."
  }
}

variable "github_environments" {
  description = "GitHub environments (e.g. staging) whose jobs may assume the role."
  type        = list(string)

  validation {
    condition     = length(var.github_environments) > 0 && alltrue([for e in var.github_environments : can(regex("^[A-Za-z0-9_.-]+$", e))])
    error_message = "github_environments must name at least one environment, with no wildcard."
  }
}

variable "create_oidc_provider" {
  description = "Create GitHub's OIDC provider in the account (true for the first environment only)."
  type        = bool
  default     = true
}

variable "role_name" {
  description = "Name of the role the deploy workflow assumes."
  type        = string
}

variable "max_session_duration" {
  description = "Longest session in seconds; a rollout with long analysis windows needs more than the 1 h default."
  type        = number
  default     = 7200
}

variable "cluster_name" {
  description = "ECS cluster of the service."
  type        = string
}

variable "service_name" {
  description = "ECS service canaryctl deploys."
  type        = string
}

variable "service_arn" {
  description = "ARN of the ECS service."
  type        = string
}

variable "task_definition_family" {
  description = "Family canaryctl registers the canary's task definition revisions in."
  type        = string
}

variable "listener_arn" {
  description = "Listener whose weighted forward action canaryctl sets (its rules too)."
  type        = string
}

variable "pass_role_arns" {
  description = "Task execution and task roles: the only roles canaryctl may pass to ECS."
  type        = list(string)
}

variable "state_bucket_arn" {
  description = "ARN of canaryctl's state bucket."
  type        = string
}

variable "state_prefix" {
  description = "Key prefix under which canaryctl keeps records and locks."
  type        = string
  default     = "canaryctl"
}

variable "kms_key_arn" {
  description = "KMS key encrypting the state bucket."
  type        = string
}

variable "terraform_state" {
  description = "Where the environment's Terraform state lives, to let the workflow read its outputs; null to not allow it."
  type = object({
    bucket = string
    key    = string
  })
  default = null
}

variable "amp_workspace_arn" {
  description = "ARN of the environment's Amazon Managed Prometheus workspace the deploy role may query (aps:QueryMetrics); null when AMP is off."
  type        = string
  default     = null
}
