variable "job_name" {
  description = "Prometheus job of the scraped series (the Prometheus source's selector reads it, e.g. {job=\"gamebackend\"})."
  type        = string
}

variable "port" {
  description = "Port the backend serves /metrics on, in the same task."
  type        = number
}

variable "metrics_path" {
  description = "Path of the backend's metrics."
  type        = string
  default     = "/metrics"
}

variable "scrape_interval_seconds" {
  description = "Seconds between scrapes; a pipeline's metrics.delay should cover it plus the remote write."
  type        = number
  default     = 15

  validation {
    condition     = var.scrape_interval_seconds >= 5 && var.scrape_interval_seconds <= 60
    error_message = "scrape_interval_seconds must be between 5 and 60."
  }
}

variable "remote_write_url" {
  description = "The workspace's remote write URL (https://aps-workspaces.REGION.amazonaws.com/workspaces/ID/api/v1/remote_write)."
  type        = string

  validation {
    condition     = can(regex("^https://aps-workspaces[.-][^/]+/workspaces/[^/]+/api/v1/remote_write$", var.remote_write_url))
    error_message = "remote_write_url must be an AMP workspace's .../workspaces/ID/api/v1/remote_write URL."
  }
}

variable "region" {
  description = "Region of the workspace (the SigV4 signing region)."
  type        = string
}
