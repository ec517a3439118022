output "bucket" {
  description = "Name of canaryctl's state bucket."
  value       = aws_s3_bucket.this.id
}

output "bucket_arn" {
  description = "ARN of canaryctl's state bucket."
  value       = aws_s3_bucket.this.arn
}
