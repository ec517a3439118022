variable "name" {
  description = "Prefix of the bucket's name (the account id is appended for uniqueness)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key encrypting the records."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket receiving this bucket's server access logs."
  type        = string
}

variable "noncurrent_version_days" {
  description = "Days old versions of records are kept."
  type        = number
  default     = 90
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds records (never in production)."
  type        = bool
  default     = false
}
