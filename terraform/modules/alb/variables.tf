variable "name" {
  description = "Prefix of every resource name (at most 26 characters: target group names are limited to 32)."
  type        = string

  validation {
    condition     = length(var.name) <= 26
    error_message = "name must be at most 26 characters (\"<name>-green\" must fit in 32)."
  }
}

variable "vpc_id" {
  description = "VPC of the load balancer and its target groups."
  type        = string
}

variable "vpc_cidr_block" {
  description = "Address range of the VPC; the ALB may only send to tasks inside it."
  type        = string
}

variable "public_subnet_ids" {
  description = "Public subnets in at least two zones."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener."
  type        = string
}

variable "ssl_policy" {
  description = "TLS policy of the HTTPS listener (TLS 1.2 and 1.3 only)."
  type        = string
  default     = "ELBSecurityPolicy-TLS13-1-2-2021-06"
}

variable "ingress_cidr_blocks" {
  description = "Who may reach the listener; game clients come from anywhere."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}

variable "container_port" {
  description = "Port the backend's container listens on."
  type        = number
  default     = 8080
}

variable "health_check_path" {
  description = "Path the target groups probe; /readyz answers 200 only when PostgreSQL and Redis are reachable."
  type        = string
  default     = "/readyz"
}

variable "deregistration_delay" {
  description = "Seconds a deregistered (draining) target keeps its open connections before the ALB closes them. WebSocket sessions are connections that stay open: the default equals the idle timeout, the longest a quiet session lives anyway. canaryctl's drainDelay must be at least this (the canaryctl_ecs output passes it)."
  type        = number
  default     = 300

  validation {
    # https://docs.aws.amazon.com/elasticloadbalancing/latest/application/edit-target-group-attributes.html#deregistration-delay
    condition     = var.deregistration_delay >= 0 && var.deregistration_delay <= 3600
    error_message = "deregistration_delay must be between 0 and 3600 seconds."
  }
}

variable "idle_timeout" {
  description = "Seconds an idle connection stays open; long for the realtime WebSocket gateway."
  type        = number
  default     = 300

  validation {
    condition     = var.idle_timeout >= 1 && var.idle_timeout <= 4000
    error_message = "idle_timeout must be between 1 and 4000 seconds."
  }
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer (production)."
  type        = bool
  default     = true
}

variable "web_acl_arn" {
  description = "Optional WAFv2 web ACL to attach to the load balancer."
  type        = string
  default     = null
}

variable "access_log_retention_days" {
  description = "Days access logs are kept."
  type        = number
  default     = 90
}
