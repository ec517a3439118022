variable "name" {
  description = "Prefix of every resource name in the environment."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the data stores."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets (two zones at least) for RDS and ElastiCache."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) >= 2
    error_message = "RDS and ElastiCache subnet groups need subnets in at least two zones."
  }
}

variable "client_security_group_ids" {
  description = "Security groups allowed to connect (the service's tasks)."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key encrypting storage, snapshots, the master secret and logs."
  type        = string
}

variable "postgres_major_version" {
  description = "PostgreSQL major version (RDS picks the newest minor)."
  type        = string
  default     = "17"
}

variable "db_instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t4g.medium"
}

variable "database_name" {
  description = "Name of the backend's database."
  type        = string
  default     = "gamebackend"
}

variable "database_username" {
  description = "Master user name (its password lives in Secrets Manager)."
  type        = string
  default     = "gamebackend"
}

variable "allocated_storage_gb" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20
}

variable "max_allocated_storage_gb" {
  description = "Storage autoscaling ceiling in GiB."
  type        = number
  default     = 200
}

variable "multi_az" {
  description = "Standby replica in a second zone (production)."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Refuse to delete the database, and take a final snapshot (production)."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days automated backups (and Redis snapshots) are kept."
  type        = number
  default     = 7
}

variable "redis_engine_version" {
  description = "Redis engine version."
  type        = string
  default     = "7.1"
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.small"
}

variable "redis_replicas" {
  description = "Read replicas beside the primary; at least one enables automatic failover."
  type        = number
  default     = 1
}

variable "log_retention_days" {
  description = "How long database and cache logs are kept."
  type        = number
  default     = 365
}
