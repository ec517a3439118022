variable "name" {
  description = "Prefix of every resource name in the environment."
  type        = string
}

variable "service_name" {
  description = "Name of the ECS service whose logs are read."
  type        = string
  default     = "gamebackend"
}

variable "kms_key_arn" {
  description = "KMS key encrypting the log group and the alarm topic."
  type        = string
}

variable "log_retention_days" {
  description = "How long service logs are kept."
  type        = number
  default     = 365
}

variable "route_classes" {
  description = "Route classes of the backend and the alarm thresholds of each (error rate in percent, p95 in ms)."
  type = map(object({
    error_rate_percent = number
    p95_ms             = number
  }))
  default = {
    wallet      = { error_rate_percent = 0.5, p95_ms = 250 }
    pools       = { error_rate_percent = 0.5, p95_ms = 250 }
    inventory   = { error_rate_percent = 1, p95_ms = 300 }
    leaderboard = { error_rate_percent = 1, p95_ms = 150 }
    players     = { error_rate_percent = 1, p95_ms = 300 }
    matchmaking = { error_rate_percent = 1, p95_ms = 500 }
    realtime    = { error_rate_percent = 1, p95_ms = 500 }
    ops         = { error_rate_percent = 5, p95_ms = 1000 }
  }
}

variable "alarm_evaluation_periods" {
  description = "Consecutive one-minute periods over the threshold before an alarm fires."
  type        = number
  default     = 5
}

variable "alarm_emails" {
  description = "Addresses subscribed to the alarm topic (each confirms by email)."
  type        = list(string)
  default     = []
}

variable "load_balancer_arn_suffix" {
  description = "CloudWatch dimension of the ALB."
  type        = string
}

variable "target_group_arn_suffixes" {
  description = "CloudWatch dimensions of the blue and green target groups."
  type        = list(string)
}

variable "enable_managed_prometheus" {
  description = "Create an Amazon Managed Prometheus workspace for the service's own metrics (route-class SLOs)."
  type        = bool
  default     = false
}
