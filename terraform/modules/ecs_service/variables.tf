variable "name" {
  description = "Prefix of every resource name in the environment; also the cluster's name."
  type        = string
}

variable "service_name" {
  description = "Name of the ECS service (the pipeline's `service`)."
  type        = string
  default     = "gamebackend"
}

variable "container_name" {
  description = "Name of the container in the task definition (the target group points at it)."
  type        = string
  default     = "gamebackend"
}

variable "image" {
  description = "Image of the first task definition revision; canaryctl registers later ones."
  type        = string
}

variable "container_port" {
  description = "Port the backend listens on."
  type        = number
  default     = 8080
}

variable "cpu" {
  description = "Task CPU units (Fargate sizes)."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Task memory in MiB (Fargate sizes)."
  type        = number
  default     = 1024
}

variable "cpu_architecture" {
  description = "X86_64 or ARM64."
  type        = string
  default     = "X86_64"
}

variable "environment" {
  description = "Plain environment variables of the container (DATABASE_URL without password, REDIS_URL...)."
  type        = map(string)
  default     = {}
}

variable "access_log" {
  description = "The backend's access log (ACCESS_LOG): stdout writes one JSON line per request, which the observability module's metric filters read; off writes none."
  type        = string
  default     = "stdout"

  validation {
    condition     = contains(["stdout", "off"], var.access_log)
    error_message = "access_log must be stdout or off."
  }
}

variable "secrets" {
  description = "Environment variables injected from Secrets Manager: name => secret ARN (optionally :json-key::)."
  type        = map(string)
  default     = {}
}

variable "secret_arns" {
  description = "Secrets the execution role may read (the ARNs behind var.secrets)."
  type        = list(string)
  default     = []
}

variable "health_check_grace_period_seconds" {
  description = "Seconds ECS ignores failing load balancer health checks of a new task. /readyz needs both RDS and Redis: the default covers a cold start (TLS to both, migrations) and a start during an RDS Multi-AZ failover (typically 60-120 s, https://docs.aws.amazon.com/AmazonRDS/latest/UserGuide/Concepts.MultiAZSingleStandby.html) without replacing tasks that are about to be ready."
  type        = number
  default     = 120

  validation {
    condition     = var.health_check_grace_period_seconds >= 0 && var.health_check_grace_period_seconds <= 2147483647
    error_message = "health_check_grace_period_seconds must be between 0 and 2147483647."
  }
}

variable "desired_count" {
  description = "Tasks at creation; autoscaling owns the count afterwards."
  type        = number
  default     = 2
}

variable "min_count" {
  description = "Fewest tasks autoscaling keeps."
  type        = number
  default     = 2
}

variable "max_count" {
  description = "Most tasks autoscaling starts."
  type        = number
  default     = 10
}

variable "cpu_target_percent" {
  description = "Average CPU the autoscaling policy aims for."
  type        = number
  default     = 60
}

variable "vpc_id" {
  description = "VPC of the tasks."
  type        = string
}

variable "vpc_cidr_block" {
  description = "Address range of the VPC (the tasks reach RDS and Redis inside it)."
  type        = string
}

variable "alb_security_group_id" {
  description = "Security group of the ALB, the only caller of the tasks."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the environment (logs, exec sessions, secrets)."
  type        = string
}

variable "log_group_name" {
  description = "Log group of the containers (created by the observability module, which reads it)."
  type        = string
}

variable "log_retention_days" {
  description = "How long ECS Exec session logs are kept."
  type        = number
  default     = 365
}

variable "metrics_collector" {
  description = "An ADOT collector beside the backend in each task, remote-writing its /metrics to an Amazon Managed Prometheus workspace (ARN and remote write URL); null for none."
  type = object({
    workspace_arn           = string
    remote_write_url        = string
    image                   = optional(string, "public.ecr.aws/aws-observability/aws-otel-collector:v0.43.3")
    scrape_interval_seconds = optional(number, 15)
  })
  default = null
}
