variable "name" {
  description = "Prefix of every resource name in the environment (e.g. gamebackend-staging)."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range; /16 leaves room for 16 subnets of /20."
  type        = string
  default     = "10.40.0.0/16"
}

variable "availability_zones" {
  description = "Zone names to spread the subnets over (2 or 3), e.g. [\"eu-west-1a\", \"eu-west-1b\"]."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) >= 2 && length(var.availability_zones) <= 3
    error_message = "availability_zones must name 2 or 3 zones: the ALB and RDS subnet groups need two."
  }
}

variable "single_nat_gateway" {
  description = "One shared NAT gateway (cheaper, staging) instead of one per zone."
  type        = bool
  default     = false
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow-log group."
  type        = string
}

variable "log_retention_days" {
  description = "How long flow logs are kept."
  type        = number
  default     = 365
}
