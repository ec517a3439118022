output "load_balancer_arn" {
  description = "ARN of the ALB."
  value       = aws_lb.this.arn
}

output "load_balancer_arn_suffix" {
  description = "The ALB's CloudWatch dimension (LoadBalancer=app/<name>/<id>)."
  value       = aws_lb.this.arn_suffix
}

output "dns_name" {
  description = "DNS name of the ALB (point the game's domain at it)."
  value       = aws_lb.this.dns_name
}

output "listener_arn" {
  description = "The HTTPS listener whose weighted forward action canaryctl drives."
  value       = aws_lb_listener.https.arn
}

output "security_group_id" {
  description = "Security group of the ALB; the service admits traffic only from it."
  value       = aws_security_group.alb.id
}

output "blue_target_group_arn" {
  description = "Blue target group (takes 100% at creation)."
  value       = aws_lb_target_group.this["blue"].arn
}

output "green_target_group_arn" {
  description = "Green target group (0% at creation; the first canary goes here)."
  value       = aws_lb_target_group.this["green"].arn
}

output "blue_target_group_arn_suffix" {
  description = "CloudWatch dimension of the blue target group."
  value       = aws_lb_target_group.this["blue"].arn_suffix
}

output "green_target_group_arn_suffix" {
  description = "CloudWatch dimension of the green target group."
  value       = aws_lb_target_group.this["green"].arn_suffix
}

output "access_logs_bucket" {
  description = "Bucket receiving the ALB's access logs."
  value       = aws_s3_bucket.access_logs.id
}

output "deregistration_delay" {
  description = "Seconds a draining target keeps its connections (canaryctl's drainDelay must be at least this)."
  value       = var.deregistration_delay
}
