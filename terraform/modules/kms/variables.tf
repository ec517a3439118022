variable "name" {
  description = "Prefix of every resource name in the environment (e.g. gamebackend-staging)."
  type        = string
}

variable "deletion_window_in_days" {
  description = "Days KMS waits before deleting the key once scheduled (7-30)."
  type        = number
  default     = 30
}
