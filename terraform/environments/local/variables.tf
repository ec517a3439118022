variable "service_name" {
  description = "The service the sandbox runs (the pipeline's `service`)."
  type        = string
  default     = "gamebackend"
}

variable "host" {
  description = "Address the sandbox's router listens on (loopback only)."
  type        = string
  default     = "127.0.0.1"

  validation {
    condition     = can(regex("^(127\\.|localhost$|::1$)", var.host))
    error_message = "host must be a loopback address: the sandbox never listens beyond this machine."
  }
}

variable "router_port" {
  description = "Port of the weighted router (the sandbox's ALB)."
  type        = number
  default     = 8080

  validation {
    condition     = var.router_port >= 1 && var.router_port <= 65535
    error_message = "router_port must be between 1 and 65535."
  }
}

variable "replicas" {
  description = "Backend processes per task set."
  type        = number
  default     = 2

  validation {
    condition     = var.replicas >= 1 && floor(var.replicas) == var.replicas
    error_message = "replicas must be a whole number of at least 1."
  }
}

variable "state_dir" {
  description = "The sandbox's state directory (relative to where canaryctl runs)."
  type        = string
  default     = ".sandbox"
}

variable "health_timeout" {
  description = "How long a new task set may take to become healthy."
  type        = string
  default     = "60s"
}
