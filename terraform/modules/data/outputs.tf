output "postgres_address" {
  description = "Host name of the PostgreSQL endpoint."
  value       = aws_db_instance.this.address
}

output "postgres_port" {
  description = "Port of the PostgreSQL endpoint."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the backend's database."
  value       = aws_db_instance.this.db_name
}

output "database_username" {
  description = "Master user name."
  value       = aws_db_instance.this.username
}

output "database_secret_arn" {
  description = "Secrets Manager secret holding the master password (JSON key `password`)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "redis_primary_endpoint" {
  description = "Host name of the Redis primary endpoint (TLS required)."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "security_group_ids" {
  description = "Security groups of PostgreSQL and Redis."
  value       = [aws_security_group.postgres.id, aws_security_group.redis.id]
}
